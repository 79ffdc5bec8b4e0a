import { Button, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { asApiError } from "@/api/client";
import { ErrorNotice } from "@/components/ErrorNotice";

export interface TextDialogProps {
  title: string;
  label: string;
  description: string;
  initial: string;
  submitLabel: string;
  /** Throws the server's error: one about the field shows at the field, any other above the buttons. */
  onSubmit: (value: string) => Promise<void>;
  onClose: () => void;
  /** Fields whose server errors belong to this input (e.g. "name" for a rename). */
  fields?: string[];
}

/** One text field in a dialog: new folder, rename, move. Errors say what happened and what to do. */
export function TextDialog({ title, label, description, initial, submitLabel, onSubmit, onClose, fields = [] }: TextDialogProps) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const apiError = error ? asApiError(error) : null;
  const atField = apiError && apiError.field !== null && fields.includes(apiError.field);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!value.trim()) {
      setError(new Error(`${label} cannot be empty.`));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit(value.trim());
      onClose();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal opened onClose={onClose} title={title} centered closeButtonProps={{ "aria-label": "Close the dialog" }}>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput
            label={label}
            description={description}
            value={value}
            onChange={(event) => setValue(event.currentTarget.value)}
            error={atField && apiError ? `${apiError.message}${apiError.fix ? ` ${apiError.fix}` : ""}` : undefined}
            data-autofocus
            required
          />
          {error && !atField ? <ErrorNotice error={error} title="That did not work" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              {submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export interface EmptyTrashDialogProps {
  /** How many items the trash holds (what the list shows). */
  count: number;
  onEmpty: () => Promise<void>;
  onClose: () => void;
}

/**
 * The one "are you sure?" of the app: everything else is undone afterwards, but what leaves the trash is gone.
 * Says what is deleted and that it cannot come back; "Keep them" is the default (focused) choice.
 */
export function EmptyTrashDialog({ count, onEmpty, onClose }: EmptyTrashDialogProps) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const items = count === 1 ? "1 item" : `${count} items`;

  async function empty() {
    setBusy(true);
    setError(null);
    try {
      await onEmpty();
      onClose();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal opened onClose={onClose} title="Empty the trash?" centered closeButtonProps={{ "aria-label": "Close the dialog" }}>
      <Stack>
        <Text size="sm">
          This deletes the {items} in the trash for good, with their files and folders (the workspace’s trash and each
          dataset’s own). Unlike everything else on this page, it cannot be undone: they cannot be restored afterwards.
        </Text>
        {error ? <ErrorNotice error={error} title="The trash was not emptied" /> : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} data-autofocus>
            Keep them
          </Button>
          <Button color="red" onClick={() => void empty()} loading={busy}>
            Delete {items} for good
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
