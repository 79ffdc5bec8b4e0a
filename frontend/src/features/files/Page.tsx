import { PageHeader } from "@/components/PageHeader";

export default function FilesPage() {
  return <PageHeader title="Files" purpose="Browse the workspace: upload, organise, download and restore files from the trash." />;
}
