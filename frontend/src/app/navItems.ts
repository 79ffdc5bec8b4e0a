import {
  IconBox,
  IconFolder,
  IconListCheck,
  IconPhoto,
  IconSchool,
  IconTool,
  type Icon,
} from "@tabler/icons-react";

export interface NavItem {
  path: string;
  label: string;
  description: string;
  icon: Icon;
}

/** The pages, in the order the navigation lists them (routes.tsx loads each on demand). */
export const NAV_ITEMS: NavItem[] = [
  { path: "/files", label: "Files", description: "Upload and organise files", icon: IconFolder },
  { path: "/datasets", label: "Datasets", description: "Images and captions", icon: IconPhoto },
  { path: "/training", label: "Training", description: "Train a LoRA", icon: IconSchool },
  { path: "/jobs", label: "Jobs", description: "Running and finished work", icon: IconListCheck },
  { path: "/models", label: "Models", description: "Checkpoints, LoRAs, downloads", icon: IconBox },
  { path: "/utilities", label: "Utilities", description: "LoRA tools", icon: IconTool },
];
