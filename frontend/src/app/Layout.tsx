import { AppShell, Burger, Group, Loader, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Outlet, useNavigation } from "react-router-dom";
import { ColorSchemeToggle } from "./ColorSchemeToggle";
import { JobTray } from "./JobTray";
import { Nav } from "./Nav";
import { Shortcuts } from "./Shortcuts";

/** The shell, the same on every page: header (name, theme), navigation, the page. */
export function Layout() {
  const [opened, { toggle, close }] = useDisclosure(false);
  const navigation = useNavigation();
  return (
    <>
      <Shortcuts />
      <a className="skip-link" href="#main">
        Skip to the page
      </a>
      <AppShell
        header={{ height: 56 }}
        navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }}
        padding="md"
      >
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap">
              <Burger
                opened={opened}
                onClick={toggle}
                hiddenFrom="sm"
                size="sm"
                aria-label={opened ? "Close the navigation" : "Open the navigation"}
              />
              <Text fw={700} size="lg" component="span">
                lorakit
              </Text>
              {navigation.state === "loading" ? <Loader size="xs" aria-label="Loading the page" /> : null}
            </Group>
            <Group gap="xs" wrap="nowrap">
              <JobTray />
              <ColorSchemeToggle />
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs">
          <Nav onNavigate={close} />
        </AppShell.Navbar>
        <AppShell.Main id="main" tabIndex={-1}>
          <Outlet />
        </AppShell.Main>
      </AppShell>
    </>
  );
}
