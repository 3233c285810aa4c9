import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { errors } from '../errors.ts'

/**
 * Normalises a phone number to E.164. `country_code` (seed 002: "+1") is the calling code used when the
 * number is written without one; a number starting with + carries its own.
 */
export function normalisePhone(phoneNumber: string, countryCode?: string): string {
  const raw = phoneNumber.trim()
  const calling = countryCode?.replace(/^\+/, '')
  const candidate = raw.startsWith('+') || !calling ? raw : `+${calling}${raw.replace(/^0+/, '')}`
  const parsed = parsePhoneNumberFromString(candidate)
  if (!parsed?.isValid()) throw errors.invalidPhoneNumber()
  if (calling && parsed.countryCallingCode !== calling) {
    throw errors.invalidPhoneNumber('The phone number does not match the country code')
  }
  return parsed.number
}
