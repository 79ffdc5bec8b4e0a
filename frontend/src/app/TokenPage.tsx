import { Alert, Button, Container, List, PasswordInput, Stack, Text, Title } from "@mantine/core";
import { IconKey } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";

/** The address with `?token=` added (the server checks it, stores it in a cookie and drops it again). */
export function tokenLink(location: Pick<Location, "pathname" | "search" | "hash">, token: string): string {
  const params = new URLSearchParams(location.search);
  params.set("token", token);
  return `${location.pathname}?${params.toString()}${location.hash}`;
}

/**
 * Shown when the server answers 401: it was started with an access token (beyond this computer, or with
 * --token). The token goes to the server once as `?token=`; the server keeps it in a cookie.
 */
export function TokenPage({ navigate = (url: string) => window.location.assign(url) }: { navigate?: (url: string) => void }) {
  const [token, setToken] = useState("");
  const [missing, setMissing] = useState(false);
  // The server drops a right ?token= from the address; one still there was refused.
  const refused = new URLSearchParams(window.location.search).has("token");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setMissing(true);
      return;
    }
    navigate(tokenLink(window.location, value));
  };
  return (
    <Container size="xs" py={64} component="main">
      <form onSubmit={submit} noValidate>
        <Stack>
          <Title order={1} size="h2">
            This server needs its access token
          </Title>
          <Text>
            lorakit was started with an access token, so that only people who have it can use it. Open the link{" "}
            <code>lorakit serve</code> printed when it started (it ends in <code>?token=…</code>), or paste the token
            here.
          </Text>
          {refused ? (
            <Alert color="red" role="alert" title="That token was not accepted">
              Check that you copied the whole token, and that the server was not restarted with a new one (it prints
              the link again when it starts).
            </Alert>
          ) : null}
          <PasswordInput
            label="Access token"
            description="The part after ?token= in the link lorakit printed."
            value={token}
            onChange={(event) => {
              setToken(event.currentTarget.value);
              setMissing(false);
            }}
            error={missing ? "Paste the token first." : undefined}
            autoComplete="off"
            autoFocus
            leftSection={<IconKey aria-hidden="true" size={16} />}
          />
          <Button type="submit">Open lorakit</Button>
          <Text size="sm" c="dimmed">
            Where to find it:
          </Text>
          <List size="sm">
            <List.Item>the terminal where <code>lorakit serve</code> runs (the line starting with "Open");</List.Item>
            <List.Item>
              or the <code>server_token</code> in the workspace&apos;s <code>settings.toml</code> on the server.
            </List.Item>
          </List>
        </Stack>
      </form>
    </Container>
  );
}
