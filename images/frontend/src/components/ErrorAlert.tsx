export interface ErrorAlertProps {
    /** The message to show; null shows nothing. */
    message: string | null;
    onDismiss: () => void;
}

/**
 * The page's one error region. The role="alert" container is always in the DOM so assistive technology announces a
 * message the moment it is inserted (a live region added together with its text is often not read).
 */
export function ErrorAlert({ message, onDismiss }: ErrorAlertProps) {
    return (
        <div role="alert" className="alert" aria-atomic="true">
            {message !== null && (
                <div className="alert-body">
                    <p className="alert-message">{message}</p>
                    <button type="button" className="link-button" onClick={onDismiss}>
                        Dismiss
                    </button>
                </div>
            )}
        </div>
    );
}
