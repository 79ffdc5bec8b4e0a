import { CloseButton, createTheme, type CSSVariablesResolver, Drawer, Modal, Notification } from "@mantine/core";

/** One theme for both colour schemes; the scheme follows the system unless the user picks one. */
export const theme = createTheme({
  primaryColor: "blue",
  // Darker shades than Mantine's default keep text on filled buttons above 4.5:1 contrast.
  primaryShade: { light: 8, dark: 8 },
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  defaultRadius: "sm",
  respectReducedMotion: true,
  focusRing: "auto",
  // Every close button gets a name (axe: button-name), wherever a page opens a modal, drawer or note.
  components: {
    CloseButton: CloseButton.extend({ defaultProps: { "aria-label": "Close" } as Record<string, string> }),
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { "aria-label": "Close" } } }),
    Drawer: Drawer.extend({ defaultProps: { closeButtonProps: { "aria-label": "Close" } } }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { "aria-label": "Dismiss" } },
      // Mantine's grey description falls under 4.5:1 contrast.
      styles: { description: { color: "var(--mantine-color-dimmed)" } },
    }),
  },
});

// Mantine's defaults put some text (dimmed, "light" variants) under the 4.5:1 contrast WCAG AA asks for.
const COLORS = ["blue", "red", "green", "yellow", "orange", "grape", "teal", "violet", "cyan", "gray", "pink", "indigo", "lime"];

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    "--mantine-color-error": "var(--mantine-color-red-8)",
    ...Object.fromEntries(COLORS.map((c) => [`--mantine-color-${c}-light-color`, `var(--mantine-color-${c}-9)`])),
    // White text on filled red/green/orange buttons needs the darkest shade for 4.5:1.
    ...Object.fromEntries(
      ["red", "green", "orange", "teal"].flatMap((c) => [
        [`--mantine-color-${c}-filled`, `var(--mantine-color-${c}-9)`],
        [`--mantine-color-${c}-filled-hover`, `var(--mantine-color-${c}-9)`],
      ]),
    ),
  },
  dark: {
    "--mantine-color-dimmed": "var(--mantine-color-dark-1)",
    ...Object.fromEntries(COLORS.map((c) => [`--mantine-color-${c}-light-color`, `var(--mantine-color-${c}-2)`])),
  },
});
