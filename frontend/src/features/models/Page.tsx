import { Button, Card, Grid, Stack, Title } from "@mantine/core";
import { IconDownload } from "@tabler/icons-react";
import { PageHeader } from "@/components/PageHeader";
import { useStartDownload } from "./api";
import { Downloads } from "./Downloads";
import { Library } from "./Library";
import { LINK_INPUT_ID } from "./focus";
import { FILLED } from "./format";
import { LinkForm } from "./LinkForm";
import { TokenPanel } from "./TokenPanel";

export default function ModelsPage() {
  const start = useStartDownload();
  return (
    <>
      <PageHeader
        title="Models"
        purpose="The models in your workspace by kind, and downloads of new ones from a link."
        action={
          <Button
            color={FILLED}
            leftSection={<IconDownload size={16} aria-hidden="true" />}
            onClick={() => document.getElementById(LINK_INPUT_ID)?.focus()}
          >
            Download a model
          </Button>
        }
      />
      <Grid gutter="lg">
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Stack gap="xl">
            <Card withBorder padding="md" component="section" aria-labelledby="download-title">
              <Stack gap="sm">
                <Title order={2} size="h4" id="download-title">
                  Download from a link
                </Title>
                <LinkForm onDownload={(link) => start.mutateAsync(link)} />
              </Stack>
            </Card>
            <Downloads />
            <Library />
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <TokenPanel />
        </Grid.Col>
      </Grid>
    </>
  );
}
