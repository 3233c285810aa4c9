import type { Contact, ContactRequest, PrivacySettings, Session, VisibilityValue } from '@parley/protocol'
import { type FormEvent, type ReactNode, useCallback, useEffect, useId, useState } from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { strings } from '../../strings.ts'
import { Dialog } from '../../ui/Dialog.tsx'
import { formatLastSeen } from '../../ui/format.ts'
import { type NotificationState, notificationState, requestNotifications } from '../../ui/notifications.ts'
import { describe } from '../auth/SignIn.tsx'
import { Avatar } from '../chats/ChatList.tsx'

/** Profile, privacy, notifications, devices, contacts and the keyboard. Loaded on first use. */
export default function SettingsDialog({ onClose }: { onClose: () => void }) {
  const client = useClient()
  return (
    <Dialog title={strings.settings.title} onClose={onClose} variant="sheet">
      <div className="stack pad settings">
        <ProfileSection />
        <PrivacySection />
        <NotificationsSection />
        <DevicesSection />
        <ContactsSection />
        <Section title={strings.settings.keyboard}>
          <p className="small-text">{strings.settings.keyboardHelp}</p>
        </Section>
        <button type="button" className="danger" onClick={() => void client.signOut()}>
          {strings.settings.signOut}
        </button>
      </div>
    </Dialog>
  )
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId()
  return (
    <section aria-labelledby={id} className="settings-section stack">
      <h3 id={id} className="section-title">
        {title}
      </h3>
      {children}
    </section>
  )
}

/** An outcome line under a form: announced politely, red when it is an error. */
function Outcome({ text, error }: { text: string | null; error?: boolean }) {
  return (
    <p role="status" className={error ? 'error small-text' : 'muted small-text'}>
      {text}
    </p>
  )
}

function ProfileSection() {
  const client = useClient()
  const me = useStore((state) => state.me)
  const ids = { name: useId(), about: useId() }
  const [name, setName] = useState(me?.name ?? '')
  const [about, setAbout] = useState(me?.about ?? '')
  const [outcome, setOutcome] = useState<{ text: string; error: boolean } | null>(null)

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    try {
      await client.updateProfile({ name: name.trim(), about })
      setOutcome({ text: strings.settings.saved, error: false })
    } catch (caught) {
      setOutcome({ text: describe(caught), error: true })
    }
  }

  async function setPhoto(file: File | null) {
    try {
      await client.setAvatar(file)
      setOutcome({ text: strings.settings.saved, error: false })
    } catch (caught) {
      setOutcome({ text: describe(caught), error: true })
    }
  }

  return (
    <Section title={strings.settings.profile}>
      <div className="profile-photo">
        <Avatar name={me?.name ?? ''} url={me?.avatar_url ?? null} />
        <label className="button small">
          {strings.settings.choosePhoto}
          <input
            type="file"
            accept="image/jpeg,image/png,image/gif,image/webp"
            className="visually-hidden"
            onChange={(event) => {
              const file = event.target.files?.[0]
              event.target.value = ''
              if (file) void setPhoto(file)
            }}
          />
        </label>
        {me?.avatar_url && (
          <button type="button" className="small" onClick={() => void setPhoto(null)}>
            {strings.settings.removePhoto}
          </button>
        )}
      </div>
      <form className="stack" onSubmit={(event) => void save(event)}>
        <div className="field">
          <label htmlFor={ids.name}>{strings.settings.name}</label>
          <input
            id={ids.name}
            value={name}
            required
            maxLength={100}
            onChange={(event) => setName(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.about}>{strings.settings.about}</label>
          <textarea
            id={ids.about}
            value={about}
            rows={2}
            maxLength={500}
            onChange={(event) => setAbout(event.target.value)}
          />
        </div>
        <button type="submit" className="small" disabled={name.trim().length === 0}>
          {strings.settings.save}
        </button>
        <Outcome text={outcome?.text ?? null} error={outcome?.error} />
      </form>
    </Section>
  )
}

const VISIBILITIES: VisibilityValue[] = ['everyone', 'contacts', 'nobody']

function PrivacySection() {
  const client = useClient()
  const privacy = useStore((state) => state.me?.privacy_settings)
  const [outcome, setOutcome] = useState<{ text: string; error: boolean } | null>(null)
  const fields: Array<[keyof PrivacySettings, string]> = [
    ['last_seen', strings.settings.lastSeen],
    ['profile_photo', strings.settings.profilePhoto],
    ['about', strings.settings.aboutVisibility],
  ]
  const ids = { last_seen: useId(), profile_photo: useId(), about: useId() }

  const change = (field: keyof PrivacySettings, value: VisibilityValue) =>
    client.updatePrivacy({ [field]: value }).then(
      () => setOutcome({ text: strings.settings.saved, error: false }),
      (caught: unknown) => setOutcome({ text: describe(caught), error: true }),
    )

  if (!privacy) return null
  return (
    <Section title={strings.settings.privacy}>
      {fields.map(([field, label]) => (
        <div className="field" key={field}>
          <label htmlFor={ids[field]}>{label}</label>
          <select
            id={ids[field]}
            value={privacy[field]}
            onChange={(event) => void change(field, event.target.value as VisibilityValue)}
          >
            {VISIBILITIES.map((value) => (
              <option key={value} value={value}>
                {strings.settings[value]}
              </option>
            ))}
          </select>
        </div>
      ))}
      <Outcome text={outcome?.text ?? null} error={outcome?.error} />
    </Section>
  )
}

function NotificationsSection() {
  const [state, setState] = useState<NotificationState>(notificationState)
  return (
    <Section title={strings.settings.notifications}>
      <p className="small-text">{strings.settings.notificationsHelp}</p>
      {state === 'granted' ? (
        <p className="small-text">{strings.settings.notificationsOn}</p>
      ) : state === 'denied' ? (
        <p className="small-text">{strings.settings.notificationsDenied}</p>
      ) : state === 'unsupported' ? (
        <p className="small-text">{strings.settings.notificationsUnsupported}</p>
      ) : (
        <button type="button" className="small" onClick={() => void requestNotifications().then(setState)}>
          {strings.settings.enableNotifications}
        </button>
      )}
    </Section>
  )
}

function DevicesSection() {
  const client = useClient()
  const [sessions, setSessions] = useState<Session[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(
    () => client.sessions().then(setSessions, (caught: unknown) => setError(describe(caught))),
    [client],
  )
  useEffect(() => {
    void load()
  }, [load])

  const run = (task: Promise<unknown>) =>
    task.then(
      () => {
        setError(null)
        return load()
      },
      (caught: unknown) => setError(describe(caught)),
    )
  const others = sessions?.filter((session) => !session.current) ?? []
  return (
    <Section title={strings.settings.devices}>
      {sessions === null ? (
        <p className="muted small-text">{strings.group.loading}</p>
      ) : (
        <ul className="devices">
          {sessions.map((session) => (
            <li key={session.id} className="device">
              <span className="member-main">
                <span>{session.device_name}</span>
                <span className="muted small-text">
                  {session.current
                    ? strings.settings.thisDevice
                    : strings.settings.lastActive(formatLastSeen(session.last_active_at))}
                </span>
              </span>
              {!session.current && (
                <button
                  type="button"
                  className="small"
                  onClick={() => void run(client.revokeSession(session.id))}
                >
                  {strings.settings.signOutDevice(session.device_name)}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {sessions !== null &&
        (others.length > 0 ? (
          <button
            type="button"
            className="small danger"
            onClick={() => void run(client.revokeOtherSessions())}
          >
            {strings.settings.signOutOthers}
          </button>
        ) : (
          <p className="muted small-text">{strings.settings.noOtherDevices}</p>
        ))}
      {error && (
        <p role="alert" className="error small-text">
          {error}
        </p>
      )}
    </Section>
  )
}

function ContactsSection() {
  const client = useClient()
  const me = useStore((state) => state.me)
  const [contacts, setContacts] = useState<Contact[] | null>(null)
  const [incoming, setIncoming] = useState<ContactRequest[]>([])
  const [outcome, setOutcome] = useState<{ text: string; error: boolean } | null>(null)
  const ids = { phone: useId(), name: useId(), username: useId() }
  const [phone, setPhone] = useState('')
  const [contactName, setContactName] = useState('')
  const [username, setUsername] = useState('')

  const load = useCallback(async () => {
    const [list, requests] = await Promise.all([client.contacts(), client.contactRequests()])
    setContacts(list)
    setIncoming(requests.incoming.filter((request) => request.status === 'pending'))
  }, [client])
  useEffect(() => {
    load().catch((caught: unknown) => setOutcome({ text: describe(caught), error: true }))
  }, [load])

  const run = async (task: () => Promise<unknown>, done?: string) => {
    try {
      await task()
      await load()
      setOutcome(done ? { text: done, error: false } : null)
    } catch (caught) {
      setOutcome({ text: describe(caught), error: true })
    }
  }

  return (
    <Section title={strings.settings.contactsTitle}>
      {incoming.length > 0 && (
        <>
          <h4 className="small-title">{strings.settings.requests}</h4>
          <ul className="members">
            {incoming.map((request) => (
              <li key={request.id} className="member">
                <Avatar name={request.from_user.name} />
                <span className="member-main">{request.from_user.name}</span>
                <span className="member-actions">
                  <button
                    type="button"
                    className="small"
                    onClick={() => void run(() => client.answerContactRequest(request.id, true))}
                  >
                    {strings.settings.accept(request.from_user.name)}
                  </button>
                  <button
                    type="button"
                    className="small"
                    onClick={() => void run(() => client.answerContactRequest(request.id, false))}
                  >
                    {strings.settings.decline(request.from_user.name)}
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      {contacts === null ? (
        <p className="muted small-text">{strings.group.loading}</p>
      ) : contacts.length === 0 ? (
        <p className="muted small-text">{strings.settings.noContacts}</p>
      ) : (
        <ul className="members">
          {contacts
            .filter((contact) => contact.id !== me?.id)
            .map((contact) => (
              <li key={contact.id} className="member">
                <Avatar name={contact.name} online={contact.is_online} />
                <span className="member-main">
                  <span>{contact.name}</span>
                  <span className="muted small-text">
                    {[contact.username ? `@${contact.username}` : null, contact.phone_number]
                      .filter(Boolean)
                      .join(' · ')}
                    {contact.is_blocked ? ` · ${strings.settings.blockedTag}` : ''}
                  </span>
                </span>
                <button
                  type="button"
                  className="small"
                  onClick={() => void run(() => client.setBlocked(contact.id, !contact.is_blocked))}
                >
                  {contact.is_blocked
                    ? strings.settings.unblock(contact.name)
                    : strings.settings.block(contact.name)}
                </button>
              </li>
            ))}
        </ul>
      )}
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault()
          void run(() => client.addContactByPhone(phone.trim(), contactName.trim()), strings.settings.saved)
        }}
      >
        <h4 className="small-title">{strings.settings.addByPhone}</h4>
        <div className="field">
          <label htmlFor={ids.phone}>{strings.settings.phoneNumber}</label>
          <input
            id={ids.phone}
            type="tel"
            value={phone}
            required
            autoComplete="off"
            onChange={(event) => setPhone(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.name}>{strings.settings.contactName}</label>
          <input
            id={ids.name}
            value={contactName}
            required
            maxLength={100}
            onChange={(event) => setContactName(event.target.value)}
          />
        </div>
        <button type="submit" className="small">
          {strings.settings.addContact}
        </button>
      </form>
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault()
          const who = username.trim().replace(/^@/u, '')
          void run(() => client.requestContact(who), strings.settings.requestSent(who))
        }}
      >
        <h4 className="small-title">{strings.settings.addByUsername}</h4>
        <div className="field">
          <label htmlFor={ids.username}>{strings.settings.username}</label>
          <input
            id={ids.username}
            value={username}
            required
            autoComplete="off"
            spellCheck={false}
            onChange={(event) => setUsername(event.target.value)}
          />
        </div>
        <button type="submit" className="small">
          {strings.settings.sendRequest}
        </button>
      </form>
      <Outcome text={outcome?.text ?? null} error={outcome?.error} />
    </Section>
  )
}
