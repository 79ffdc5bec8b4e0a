import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import path from "node:path";
import { fileURLToPath } from "node:url";
import tseslint from "typescript-eslint";

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), "src");
const SHARED = new Set(["api", "components", "lib", "hooks"]);

/** "features/<name>", "app", "api", "components"... for a file under src/, else null. */
function areaOf(file) {
  const relative = path.relative(SRC, file);
  if (relative.startsWith("..") || path.isAbsolute(relative)) return null;
  const [top, second] = relative.split(path.sep);
  return top === "features" && second && second !== relative.split(path.sep).at(-1) ? `features/${second}` : top;
}

// Imports flow one way: shared (api, components, lib, hooks) -> features -> app. A feature never imports
// another feature; shared code never imports a feature or the app. Paths are resolved, so "@/features/x",
// "../../x/Page" and import("...") are all checked.
const boundaries = {
  meta: {
    type: "problem",
    messages: {
      crossFeature: "A feature never imports another feature ({{to}}): move the shared part to src/components, src/api, src/hooks or src/lib.",
      featureToApp: "Features do not import the app shell (imports flow shared -> features -> app).",
      sharedToFeature: "Shared code (src/{{from}}) never imports a feature or the app shell ({{to}}).",
    },
    schema: [],
  },
  create(context) {
    const from = areaOf(context.filename);
    const check = (node, spec) => {
      if (!from || typeof spec !== "string") return;
      let target;
      if (spec.startsWith("@/")) target = path.join(SRC, spec.slice(2));
      else if (spec.startsWith(".")) target = path.resolve(path.dirname(context.filename), spec);
      else return;
      const to = areaOf(target.endsWith(path.sep) ? target : `${target}${path.sep}x`) ?? "";
      if (from.startsWith("features/") && to.startsWith("features/") && to !== from) {
        context.report({ node, messageId: "crossFeature", data: { to } });
      } else if (from.startsWith("features/") && to === "app") {
        context.report({ node, messageId: "featureToApp" });
      } else if (SHARED.has(from) && (to.startsWith("features/") || to === "app")) {
        context.report({ node, messageId: "sharedToFeature", data: { from, to } });
      }
    };
    const fromSource = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === "Literal" && check(node.source, node.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/api/schema.d.ts", "test-results", "playwright-report"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.browser } },
    plugins: { "react-hooks": reactHooks, lorakit: { rules: { boundaries } } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "lorakit/boundaries": "error",
    },
  },
  {
    files: ["e2e/**/*.ts", "scripts/**/*.{js,mjs}", "*.config.{ts,js}"],
    languageOptions: { globals: { ...globals.node } },
    rules: { "react-hooks/rules-of-hooks": "off" },
  },
);
