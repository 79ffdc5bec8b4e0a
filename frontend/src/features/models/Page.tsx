import { PageHeader } from "@/components/PageHeader";

export default function ModelsPage() {
  return <PageHeader title="Models" purpose="The models in your workspace by kind, and downloads of new ones from a link." />;
}
