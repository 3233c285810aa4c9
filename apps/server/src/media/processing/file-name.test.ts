import { describe, expect, it } from 'vitest'
import { safeFileName } from './file-name.ts'

describe('safeFileName', () => {
  it('keeps an ordinary name', () => {
    expect(safeFileName('Quarterly report (final).pdf')).toBe('Quarterly report (final).pdf')
  })

  it('keeps only the last path segment: no traversal, no directories', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd')
    expect(safeFileName('C:\\Users\\me\\secret.docx')).toBe('secret.docx')
    expect(safeFileName('..')).toBeNull()
    expect(safeFileName('/')).toBeNull()
  })

  it('drops controls, bidi overrides and invisible characters', () => {
    // U+202E would show "invoice\u202Efdp.exe" as "invoiceexe.pdf".
    expect(safeFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe')
    expect(safeFileName('a\u0000b\u001Fc\u200Bd\u2066e.txt')).toBe('abcde.txt')
    expect(safeFileName('line\nbreak.txt')).toBe('line break.txt')
  })

  it('replaces reserved characters, drops leading dots and trailing dots/spaces', () => {
    expect(safeFileName('a:b*c?"d<e>f|g.txt')).toBe('a_b_c__d_e_f_g.txt')
    expect(safeFileName('.htaccess')).toBe('htaccess')
    expect(safeFileName('name.txt. . ')).toBe('name.txt')
  })

  it('normalises to NFC', () => {
    const decomposed = 'Cafe\u0301.txt'
    expect(safeFileName(decomposed)).toBe('Caf\u00e9.txt')
  })

  it('cuts to 255 UTF-8 bytes on a character boundary, keeping the extension', () => {
    const long = `${'é'.repeat(300)}.pdf`
    const safe = safeFileName(long)!
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(255)
    expect(safe.endsWith('.pdf')).toBe(true)
    expect(safe).not.toContain('\uFFFD')
  })

  it('answers null for no name or nothing usable', () => {
    expect(safeFileName(null)).toBeNull()
    expect(safeFileName('\u202E\u0000')).toBeNull()
  })
})
