import { Group, Kbd, Modal, Stack, Table, Text } from "@mantine/core";
import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { isTyping, type ShortcutGroup, useShortcutGroups } from "@/hooks/shortcuts";
import { NAV_ITEMS } from "./navItems";

/** "g" then a letter opens a page; the letter is the first of the page's name. */
export const GO_KEYS: Record<string, string> = Object.fromEntries(
  NAV_ITEMS.map((item) => [item.label.charAt(0).toLowerCase(), item.path]),
);

const GLOBAL: ShortcutGroup = {
  title: "Everywhere",
  shortcuts: [
    { keys: ["?"], description: "Show this list of shortcuts" },
    ...NAV_ITEMS.map((item) => ({ keys: ["g", item.label.charAt(0).toLowerCase()], description: `Go to ${item.label}` })),
    { keys: ["Tab"], description: "Move to the next control (Shift+Tab: the previous one)" },
    { keys: ["Esc"], description: "Close a dialog or menu" },
  ],
};

/** The global shortcuts and the `?` overlay that lists them with those of the current page. */
export function Shortcuts() {
  const [opened, setOpened] = useState(false);
  const navigate = useNavigate();
  const pendingG = useRef<number | null>(null);
  const groups = useShortcutGroups();

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if (event.key === "?") {
        event.preventDefault();
        setOpened(true);
        return;
      }
      if (pendingG.current !== null && Date.now() - pendingG.current < 1500) {
        pendingG.current = null;
        const path = GO_KEYS[event.key.toLowerCase()];
        if (path) {
          event.preventDefault();
          navigate(path);
        }
        return;
      }
      pendingG.current = event.key === "g" ? Date.now() : null;
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate]);

  return (
    <Modal opened={opened} onClose={() => setOpened(false)} title="Keyboard shortcuts" size="lg">
      <Stack>
        {[GLOBAL, ...groups].map((group) => (
          <Stack key={group.title} gap={4}>
            <Text fw={700}>{group.title}</Text>
            <Table>
              <Table.Tbody>
                {group.shortcuts.map((shortcut) => (
                  <Table.Tr key={shortcut.keys.join(" ") + shortcut.description}>
                    <Table.Td w={140}>
                      <Group gap={4} wrap="nowrap">
                        {shortcut.keys.map((key, index) => (
                          <Kbd key={index}>{key}</Kbd>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>{shortcut.description}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Stack>
        ))}
      </Stack>
    </Modal>
  );
}
