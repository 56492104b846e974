import { type FormEvent, useId, useRef, useState } from "react";
import type { NewItem } from "../api";
import { charCount, DESCRIPTION_MAX, type ItemFormErrors, NAME_MAX, validateItem } from "../validation";

export interface ItemFormProps {
    /** Saves the item; resolves true when it was saved (the form then clears), false when it was not. */
    onCreate: (item: NewItem) => Promise<boolean>;
    /**
     * Why adding is not possible now (signed out), shown above the fields, which are disabled but keep their text;
     * undefined: the form is enabled. @default undefined
     */
    disabledReason?: string;
    /** Disables the form without a reason shown (while the session is being checked). @default false */
    disabled?: boolean;
}

export function ItemForm({ onCreate, disabledReason, disabled = false }: ItemFormProps) {
    const [name, setName] = useState("");
    const [description, setDescription] = useState("");
    const [errors, setErrors] = useState<ItemFormErrors>({});
    const [saving, setSaving] = useState(false);
    const nameRef = useRef<HTMLInputElement>(null);
    const descriptionRef = useRef<HTMLTextAreaElement>(null);
    const id = useId();
    const nameId = `${id}-name`;
    const descriptionId = `${id}-description`;
    const reasonId = `${id}-reason`;

    async function submit(event: FormEvent<HTMLFormElement>) {
        event.preventDefault();
        const result = validateItem({ name, description });
        if (!result.ok) {
            setErrors(result.errors);
            (result.errors.name !== undefined ? nameRef : descriptionRef).current?.focus();
            return;
        }
        setErrors({});
        setSaving(true);
        try {
            if (await onCreate(result.item)) {
                setName("");
                setDescription("");
                nameRef.current?.focus();
            }
        } finally {
            setSaving(false);
        }
    }

    return (
        <form className="item-form" onSubmit={submit} noValidate aria-label="Add an item">
            {disabledReason !== undefined && (
                <p id={reasonId} className="signed-out-hint">
                    {disabledReason}
                </p>
            )}
            <fieldset
                className="plain"
                disabled={disabled || disabledReason !== undefined}
                aria-describedby={disabledReason !== undefined ? reasonId : undefined}
            >
                <div className="field">
                    <label htmlFor={nameId}>Name</label>
                    <input
                        id={nameId}
                        ref={nameRef}
                        name="name"
                        type="text"
                        autoComplete="off"
                        required
                        value={name}
                        onChange={(e) => setName(e.target.value)}
                        aria-invalid={errors.name !== undefined}
                        aria-describedby={`${nameId}-hint${errors.name !== undefined ? ` ${nameId}-error` : ""}`}
                    />
                    <span id={`${nameId}-hint`} className="hint">
                        {charCount(name.trim())}/{NAME_MAX} characters
                    </span>
                    {errors.name !== undefined && (
                        <span id={`${nameId}-error`} className="field-error">
                            {errors.name}
                        </span>
                    )}
                </div>
                <div className="field">
                    <label htmlFor={descriptionId}>
                        Description <span className="optional">(optional)</span>
                    </label>
                    <textarea
                        id={descriptionId}
                        ref={descriptionRef}
                        name="description"
                        rows={3}
                        value={description}
                        onChange={(e) => setDescription(e.target.value)}
                        aria-invalid={errors.description !== undefined}
                        aria-describedby={errors.description !== undefined ? `${descriptionId}-error` : undefined}
                    />
                    {errors.description !== undefined && (
                        <span id={`${descriptionId}-error`} className="field-error">
                            {errors.description}
                        </span>
                    )}
                    <span className="hint">Up to {DESCRIPTION_MAX} characters.</span>
                </div>
                <button type="submit" disabled={saving}>
                    {saving ? "Adding…" : "Add item"}
                </button>
            </fieldset>
        </form>
    );
}
