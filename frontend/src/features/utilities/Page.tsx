import { PageHeader } from "@/components/PageHeader";

export default function UtilitiesPage() {
  return <PageHeader title="Utilities" purpose="LoRA tools: inspect, resize, merge, extract, convert and upload adapters." />;
}
