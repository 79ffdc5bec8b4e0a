import { PageHeader } from "@/components/PageHeader";

export default function JobsPage() {
  return <PageHeader title="Jobs" purpose="Every job the server has run or is running, with its progress and its log." />;
}
