// Where the Training page shows each setting. Only the arrangement is chosen here: the settings, their
// controls and help all come from the server's schema; a setting no group names lands in "Advanced".
import type { FormLayout } from "@/components/schemaForm";

const COMMON = ["basic", "advanced"] as ("basic" | "advanced" | "expert")[];

export const TRAINING_LAYOUT: FormLayout = {
  // Model, dataset, trigger word, steps or epochs, rank, learning rate.
  essentials: [
    "model.pretrained_model_name_or_path",
    "dataset.subsets",
    "output.trigger_words",
    "schedule.max_train_epochs",
    "schedule.max_train_steps",
    "network.dim",
    "learning.learning_rate",
  ],
  groups: [
    { key: "learning", title: "Learning", description: "How long training runs and how fast it learns.", sections: ["schedule", "learning"], levels: COMMON },
    { key: "lora", title: "LoRA structure", description: "The adapter's kind and size.", sections: ["network"], levels: COMMON },
    { key: "data", title: "Dataset and captions", description: "Image sizes, buckets, augmentations and captions.", sections: ["dataset", "captions"], levels: COMMON },
    { key: "optimization", title: "Optimization", description: "The optimizer, memory and speed.", sections: ["optimizer", "memory"], levels: COMMON },
    { key: "noise", title: "Noise", description: "Noise and loss.", sections: ["noise"], levels: COMMON },
    { key: "samples", title: "Samples", description: "Preview images and validation while training.", sections: ["samples"], levels: COMMON },
    { key: "saving", title: "Saving", description: "Where and how the LoRA is saved, and logging.", sections: ["output", "logging"], levels: COMMON },
    { key: "advanced", title: "Advanced", description: "The model's details, several GPUs, and expert settings of every section.", sections: [] },
  ],
};
