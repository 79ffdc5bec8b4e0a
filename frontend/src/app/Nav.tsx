import { NavLink as MantineNavLink, Stack } from "@mantine/core";
import { NavLink } from "react-router-dom";
import { NAV_ITEMS } from "./navItems";

/** The same navigation on every page. The current page is marked with aria-current, not colour alone. */
export function Nav({ onNavigate }: { onNavigate?: () => void }) {
  return (
    <nav aria-label="Main">
      <Stack gap={2}>
        {NAV_ITEMS.map((item) => (
          <NavLinkItem key={item.path} item={item} onNavigate={onNavigate} />
        ))}
      </Stack>
    </nav>
  );
}

function NavLinkItem({ item, onNavigate }: { item: (typeof NAV_ITEMS)[number]; onNavigate?: () => void }) {
  const Icon = item.icon;
  return (
    <NavLink to={item.path} onClick={onNavigate} style={{ textDecoration: "none", color: "inherit", display: "block" }}>
      {({ isActive }) => (
        <MantineNavLink
          component="span"
          active={isActive}
          label={item.label}
          description={item.description}
          leftSection={<Icon aria-hidden="true" size={20} />}
          variant="light"
          fw={isActive ? 700 : 400}
        />
      )}
    </NavLink>
  );
}
