import { ApiRequestError } from '@parley/sdk'
import { type FormEvent, useId, useState } from 'react'
import { useClient } from '../../client/react.tsx'
import { strings } from '../../strings.ts'

type Mode = 'signIn' | 'register' | 'phone'
const MODES: Mode[] = ['signIn', 'register', 'phone']

/** Sign in with username + password, create an account, or sign in with a texted code. */
export function SignIn() {
  const [mode, setMode] = useState<Mode>('signIn')
  return (
    <main className="auth">
      <div className="auth-card">
        <h1 className="auth-title">{strings.appName}</h1>
        <p className="muted">{strings.tagline}</p>
        <fieldset className="segmented">
          <legend className="visually-hidden">{strings.auth.modes}</legend>
          {MODES.map((value) => (
            <button key={value} type="button" aria-pressed={mode === value} onClick={() => setMode(value)}>
              {strings.auth[value]}
            </button>
          ))}
        </fieldset>
        {mode === 'phone' ? <PhoneForm /> : <PasswordForm register={mode === 'register'} />}
      </div>
    </main>
  )
}

function PasswordForm({ register }: { register: boolean }) {
  const client = useClient()
  const ids = { username: useId(), password: useId(), name: useId(), help: useId() }
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const username = String(form.get('username') ?? '').trim()
    const password = String(form.get('password') ?? '')
    setBusy(true)
    setError(null)
    try {
      if (register) await client.register(username, password, String(form.get('name') ?? '').trim())
      else await client.login(username, password)
    } catch (caught) {
      setError(describe(caught))
      setBusy(false)
    }
  }

  return (
    <form
      className="stack"
      onSubmit={submit}
      aria-label={register ? strings.auth.register : strings.auth.signIn}
    >
      {register && (
        <div className="field">
          <label htmlFor={ids.name}>{strings.auth.name}</label>
          <input id={ids.name} name="name" autoComplete="name" required maxLength={100} />
        </div>
      )}
      <div className="field">
        <label htmlFor={ids.username}>{strings.auth.username}</label>
        <input
          id={ids.username}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          minLength={register ? 3 : 1}
          maxLength={register ? 32 : 64}
        />
      </div>
      <div className="field">
        <label htmlFor={ids.password}>{strings.auth.password}</label>
        <input
          id={ids.password}
          name="password"
          type="password"
          autoComplete={register ? 'new-password' : 'current-password'}
          required
          minLength={register ? 8 : 1}
          maxLength={256}
          aria-describedby={register ? ids.help : undefined}
        />
        {register && (
          <p id={ids.help} className="help">
            {strings.auth.passwordHelp}
          </p>
        )}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? strings.auth.working : register ? strings.auth.register : strings.auth.signIn}
      </button>
    </form>
  )
}

function PhoneForm() {
  const client = useClient()
  const ids = { phone: useId(), phoneHelp: useId(), code: useId(), hint: useId() }
  const [phone, setPhone] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  async function run(task: () => Promise<unknown>) {
    setBusy(true)
    setError(null)
    try {
      await task()
    } catch (caught) {
      setError(describe(caught))
    }
    setBusy(false)
  }

  function sendCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const value = String(new FormData(event.currentTarget).get('phone') ?? '').trim()
    void run(async () => {
      await client.sendOtp(value)
      setPhone(value)
    })
  }

  function verify(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const code = String(new FormData(event.currentTarget).get('code') ?? '').trim()
    if (phone) void run(() => client.verifyOtp(phone, code))
  }

  const alert = error && (
    <p role="alert" className="error">
      {error}
    </p>
  )
  if (phone === null) {
    return (
      <form className="stack" onSubmit={sendCode} aria-label={strings.auth.phone}>
        <div className="field">
          <label htmlFor={ids.phone}>{strings.auth.phoneNumber}</label>
          <input
            id={ids.phone}
            name="phone"
            type="tel"
            autoComplete="tel"
            required
            minLength={3}
            maxLength={32}
            aria-describedby={ids.phoneHelp}
          />
          <p id={ids.phoneHelp} className="help">
            {strings.auth.phoneHelp}
          </p>
        </div>
        {alert}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? strings.auth.working : strings.auth.sendCode}
        </button>
      </form>
    )
  }
  return (
    <form className="stack" onSubmit={verify} aria-label={strings.auth.phone}>
      <p role="status">{strings.auth.codeSent(phone)}</p>
      <div className="field">
        <label htmlFor={ids.code}>{strings.auth.code}</label>
        <input
          id={ids.code}
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          required
          aria-describedby={ids.hint}
        />
        <p id={ids.hint} className="help">
          {strings.auth.codeHint}
        </p>
      </div>
      {alert}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? strings.auth.working : strings.auth.verify}
      </button>
      <button type="button" className="link-button" onClick={() => setPhone(null)}>
        {strings.auth.changeNumber}
      </button>
    </form>
  )
}

/** The server's message for a coded error (they are written for people), else a generic one. */
export function describe(error: unknown): string {
  if (error instanceof ApiRequestError) {
    const details = error.details as Array<{ field?: string; message?: string }> | undefined
    const first = Array.isArray(details) ? details[0] : undefined
    return first?.message && first.field ? `${first.field}: ${first.message}` : error.message
  }
  if (error instanceof TypeError) return strings.errors.network
  return strings.errors.generic
}
