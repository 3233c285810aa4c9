import type { PublicUser } from '@parley/protocol'
import { type FormEvent, useId, useState } from 'react'
import { navigate } from '../../app/router.ts'
import { useClient } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { Dialog } from '../../ui/Dialog.tsx'
import { describe } from '../auth/SignIn.tsx'
import { PeoplePicker } from './PeoplePicker.tsx'

/** Name a group and pick its first members; I become its admin. Loaded on first use. */
export default function NewGroupDialog({ onClose }: { onClose: () => void }) {
  const client = useClient()
  const nameId = useId()
  const [name, setName] = useState('')
  const [picked, setPicked] = useState<PublicUser[]>([])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    setBusy(true)
    try {
      const { chatId } = await client.createGroup(
        name.trim(),
        picked.map((user) => user.id),
      )
      onClose()
      navigate({ name: 'chat', chatId })
    } catch (caught) {
      setError(describe(caught))
      setBusy(false)
    }
  }

  return (
    <Dialog title={strings.group.newTitle} onClose={onClose}>
      <form className="stack pad" onSubmit={(event) => void create(event)}>
        <div className="field">
          <label htmlFor={nameId}>{strings.group.name}</label>
          <input
            id={nameId}
            value={name}
            maxLength={100}
            required
            onChange={(event) => setName(event.target.value)}
          />
        </div>
        <PeoplePicker picked={picked} onChange={setPicked} />
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || name.trim().length === 0}>
          {busy ? strings.group.creating : strings.group.create}
        </button>
      </form>
    </Dialog>
  )
}
