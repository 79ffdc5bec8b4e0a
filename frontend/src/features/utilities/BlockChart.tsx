// Per-block bars in plain SVG: one bar per block (text-encoder layers, then IN, MID, OUT), its value on hover
// (a <title>) and in a table for screen readers and exact numbers.
import { Stack, Table, Text, Title, VisuallyHidden } from "@mantine/core";
import { useId } from "react";
import type { BlockInfo } from "./types";

export interface BlockChartProps {
  title: string;
  /** One sentence: what the bars mean. */
  help: string;
  blocks: BlockInfo[];
  value: (block: BlockInfo) => number | null;
  format: (value: number) => string;
}

const BAR = 18;
const GAP = 4;
const HEIGHT = 140;
const LABEL = 46;

export function BlockChart({ title, help, blocks, value, format }: BlockChartProps) {
  const id = useId();
  const values = blocks.map(value);
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const width = blocks.length * (BAR + GAP) + GAP + 32; // room for the last rotated label
  const highest = blocks[values.indexOf(max)];
  const summary =
    blocks.length === 0
      ? "No blocks."
      : `${blocks.length} blocks; the highest is ${highest?.block} at ${format(max)}.`;
  return (
    <Stack gap={4} component="figure" m={0} aria-labelledby={`${id}-title`}>
      <Title order={4} size="h5" id={`${id}-title`}>
        {title}
      </Title>
      <Text size="xs" c="dimmed">
        {help}
      </Text>
      <div style={{ overflowX: "auto" }}>
        <svg
          role="img"
          aria-label={`${title}: ${summary}`}
          width={width}
          height={HEIGHT + LABEL}
          viewBox={`0 0 ${width} ${HEIGHT + LABEL}`}
          style={{ display: "block" }}
        >
          <line x1={0} x2={width} y1={HEIGHT} y2={HEIGHT} stroke="currentColor" strokeOpacity={0.5} />
          {blocks.map((block, i) => {
            const v = values[i] ?? null;
            const h = v && max > 0 ? Math.max(1, (v / max) * (HEIGHT - 8)) : 0;
            const x = GAP + i * (BAR + GAP);
            const te = block.part !== "unet";
            return (
              <g key={`${block.block}-${block.part}`} data-block={block.block}>
                <title>{`${block.block}: ${v === null ? "not known" : format(v)} (${block.modules} modules)`}</title>
                <rect
                  x={x}
                  y={HEIGHT - h}
                  width={BAR}
                  height={h}
                  fill={te ? "var(--mantine-color-teal-6)" : "var(--mantine-color-blue-6)"}
                  // Text-encoder bars are hatched too: told apart by more than colour.
                  stroke={te ? "currentColor" : "none"}
                  strokeDasharray={te ? "3 2" : undefined}
                />
                <text
                  x={x + BAR / 2}
                  y={HEIGHT + 6}
                  fontSize={10}
                  fill="currentColor"
                  transform={`rotate(60 ${x + BAR / 2} ${HEIGHT + 6})`}
                >
                  {block.block}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <Text size="xs" c="dimmed">
        Blue: UNet blocks. Teal with a dashed edge: text-encoder layers.
      </Text>
      <VisuallyHidden>
        <Table aria-label={`${title} by block`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Block</Table.Th>
              <Table.Th>Value</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {blocks.map((block, i) => (
              <Table.Tr key={`${block.block}-${block.part}`}>
                <Table.Td>{block.block}</Table.Td>
                <Table.Td>{values[i] == null ? "not known" : format(values[i]!)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </VisuallyHidden>
    </Stack>
  );
}
