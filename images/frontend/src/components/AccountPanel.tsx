import { type FormEvent, useId, useRef, useState } from "react";

/** Where the page stands with the API's session: before GET /api/auth/session answers, signed in, or signed out. */
export type AuthState =
    | { status: "checking" }
    | { status: "signed-in"; username: string; expiresAt: string }
    | { status: "signed-out" };

export interface AccountPanelProps {
    auth: AuthState;
    /** Signs in; resolves true when it worked (the panel then shows who is signed in), false when not (the page says why). */
    onSignIn: (username: string, password: string) => Promise<boolean>;
    onSignOut: () => Promise<void>;
}

/** Sign-in form, or who is signed in and a sign-out button: the header's right-hand side. */
export function AccountPanel({ auth, onSignIn, onSignOut }: AccountPanelProps) {
    const [username, setUsername] = useState("");
    const [password, setPassword] = useState("");
    const [busy, setBusy] = useState(false);
    const passwordRef = useRef<HTMLInputElement>(null);
    const id = useId();

    async function signIn(event: FormEvent<HTMLFormElement>) {
        event.preventDefault();
        if (username.trim() === "" || password === "") {
            return;
        }
        setBusy(true);
        try {
            if (await onSignIn(username.trim(), password)) {
                setPassword("");
            } else {
                // Wrong password or too many attempts: the alert says which; the password is typed again.
                setPassword("");
                passwordRef.current?.focus();
            }
        } finally {
            setBusy(false);
        }
    }

    async function signOut() {
        setBusy(true);
        try {
            await onSignOut();
        } finally {
            setBusy(false);
        }
    }

    if (auth.status === "checking") {
        return <div className="account" aria-busy="true" />;
    }
    if (auth.status === "signed-in") {
        return (
            <div className="account">
                <p className="account-who">
                    Signed in as <strong data-testid="signed-in-user">{auth.username}</strong>
                </p>
                <button type="button" className="secondary" onClick={() => void signOut()} disabled={busy}>
                    {busy ? "Signing out…" : "Sign out"}
                </button>
            </div>
        );
    }
    return (
        <form className="account sign-in-form" onSubmit={signIn} aria-label="Sign in">
            <div className="field">
                <label htmlFor={`${id}-username`}>Username</label>
                <input
                    id={`${id}-username`}
                    name="username"
                    type="text"
                    autoComplete="username"
                    autoCapitalize="none"
                    spellCheck={false}
                    required
                    value={username}
                    onChange={(e) => setUsername(e.target.value)}
                />
            </div>
            <div className="field">
                <label htmlFor={`${id}-password`}>Password</label>
                <input
                    id={`${id}-password`}
                    ref={passwordRef}
                    name="password"
                    type="password"
                    autoComplete="current-password"
                    required
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                />
            </div>
            <button type="submit" disabled={busy || username.trim() === "" || password === ""}>
                {busy ? "Signing in…" : "Sign in"}
            </button>
        </form>
    );
}
