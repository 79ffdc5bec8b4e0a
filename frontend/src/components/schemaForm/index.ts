// The schema-driven form: the Training page, the node editor's inspector and the studio's overrides share it.
export { FieldRow } from "./FieldRow";
export { buildSections, fieldId, flatten, formatValue, getIn, labelOf, sameValue, setIn } from "./model";
export { place, rootPath, SchemaForm, sectionLayout } from "./SchemaForm";
export type { FormGroup, FormLayout, SchemaFormHandle, SchemaFormProps } from "./SchemaForm";
export type * from "./types";
export { WidgetInput } from "./widgets";
