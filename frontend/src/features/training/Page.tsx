import { PageHeader } from "@/components/PageHeader";

export default function TrainingPage() {
  return <PageHeader title="Training" purpose="Set up a LoRA training run from a preset and start it as a job." />;
}
