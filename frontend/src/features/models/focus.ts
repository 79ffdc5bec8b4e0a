// Ids on the Models page that other parts of it move the keyboard to.
import type { Service } from "./api";

export const LINK_INPUT_ID = "model-link";
export const TOKENS_ID = "tokens";
export const tokenInputId = (service: Service) => `token-input-${service}`;

/** Move the keyboard (and the view) to a service's token field: the fix for "this file needs a token". */
export function focusTokenInput(service: Service): void {
  const input = document.getElementById(tokenInputId(service));
  input?.scrollIntoView({ block: "center" });
  input?.focus();
}
