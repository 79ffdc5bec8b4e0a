import { PageHeader } from "@/components/PageHeader";

export default function DatasetsPage() {
  return <PageHeader title="Datasets" purpose="See your datasets, check their health and edit the captions of their images." />;
}
