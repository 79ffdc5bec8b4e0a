import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import reactRefresh from "eslint-plugin-react-refresh";
import globals from "globals";
import tseslint from "typescript-eslint";

// Imports flow one way: shared (api, components, lib, hooks) -> features -> app.
// A feature never imports another feature; shared code never imports a feature or the app.
const FEATURES = ["files", "datasets", "models", "training", "jobs", "utilities"];

const featureRules = FEATURES.map((feature) => ({
  files: [`src/features/${feature}/**/*.{ts,tsx}`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          {
            group: FEATURES.filter((f) => f !== feature).flatMap((f) => [
              `@/features/${f}`,
              `@/features/${f}/*`,
              `**/features/${f}`,
              `**/features/${f}/*`,
              `../${f}`,
              `../${f}/*`,
            ]),
            message: "A feature never imports another feature: move the shared part to src/components, src/api or src/lib.",
          },
          {
            group: ["@/app", "@/app/*", "**/app/*"],
            message: "Features do not import the app shell (imports flow shared -> features -> app).",
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/api/schema.d.ts", "test-results", "playwright-report"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.browser } },
    plugins: { "react-hooks": reactHooks, "react-refresh": reactRefresh },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Off: modules here export a component with its hooks/helpers; that costs only a full reload in `npm run dev`.
      "react-refresh/only-export-components": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...featureRules,
  {
    files: ["src/api/**/*.{ts,tsx}", "src/components/**/*.{ts,tsx}", "src/lib/**/*.{ts,tsx}", "src/hooks/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@/features/*", "**/features/*", "@/app", "@/app/*", "**/app/*"],
              message: "Shared code never imports a feature or the app shell.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["e2e/**/*.ts", "scripts/**/*.{js,mjs}", "*.config.{ts,js}"],
    languageOptions: { globals: { ...globals.node } },
    rules: { "react-hooks/rules-of-hooks": "off" },
  },
  {
    files: ["**/*.test.{ts,tsx}", "src/test/**"],
    rules: { "react-refresh/only-export-components": "off" },
  },
);
