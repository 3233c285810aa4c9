import fs from 'node:fs'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { OggOpusDecoder } from 'ogg-opus-decoder'
import { OpusDecoder } from 'opus-decoder'

/** Samples in a voice note's waveform, each 0–255 (one byte), sent base64. */
export const WAVEFORM_SAMPLES = 64

/** Decoded audio arrives in slices; each slice's loudest sample is kept (10 ms of audio at most). */
class PeakCollector {
  readonly peaks: number[] = []
  private current = 0
  private inBlock = 0
  private samples = 0
  constructor(
    private readonly blockSize: number,
    private readonly sampleRate: number,
  ) {}

  /** How long the decoded audio lasts: a live-recorded WebM's header does not say. */
  get durationMs(): number {
    return Math.round((this.samples * 1000) / this.sampleRate)
  }

  add(channels: readonly Float32Array[], length: number): void {
    this.samples += length
    for (let index = 0; index < length; index++) {
      for (const channel of channels) {
        const amplitude = Math.abs(channel[index] ?? 0)
        if (amplitude > this.current) this.current = amplitude
      }
      if (++this.inBlock === this.blockSize) this.flush()
    }
  }

  flush(): void {
    if (this.inBlock === 0) return
    this.peaks.push(this.current)
    this.current = 0
    this.inBlock = 0
  }

  /** 64 bytes, the loudest moment at 255; null for no audio. */
  waveform(): string | null {
    this.flush()
    if (this.peaks.length === 0) return null
    const buckets = new Array<number>(WAVEFORM_SAMPLES).fill(0)
    this.peaks.forEach((peak, index) => {
      const bucket = Math.min(
        WAVEFORM_SAMPLES - 1,
        Math.floor((index * WAVEFORM_SAMPLES) / this.peaks.length),
      )
      buckets[bucket] = Math.max(buckets[bucket]!, peak)
    })
    const loudest = Math.max(...buckets)
    const bytes = buckets.map((peak) => (loudest > 0 ? Math.round((255 * peak) / loudest) : 0))
    return Buffer.from(bytes).toString('base64')
  }
}

const READ_SLICE = 64 * 1024

/**
 * Ogg Opus (what most recorders and Parley's clients send) decoded with ogg-opus-decoder, a maintained
 * WebAssembly build of libopus inlined in the npm package. Decoding is synchronous per slice, so each
 * slice of the file is decoded in its own turn of the event loop: a long note never stalls requests.
 */
async function oggOpusPeaks(path: string): Promise<PeakCollector> {
  const decoder = new OggOpusDecoder()
  await decoder.ready
  const collector = new PeakCollector(480, 48000) // 10 ms at Opus's 48 kHz
  try {
    for await (const slice of fs.createReadStream(path, { highWaterMark: READ_SLICE })) {
      // Typed as synchronous, but it answers a promise.
      const decoded = await Promise.resolve(decoder.decode(slice as Buffer))
      collector.add(decoded.channelData, decoded.samplesDecoded)
      await yieldToEventLoop()
    }
    const rest = await decoder.flush()
    collector.add(rest.channelData, rest.samplesDecoded)
  } finally {
    decoder.free()
  }
  return collector
}

/** Matroska/WebM element ids this reader needs (https://www.matroska.org/technical/elements.html). */
const EBML = {
  segment: 0x18538067,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  codecId: 0x86,
  audio: 0xe1,
  channels: 0x9f,
  cluster: 0x1f43b675,
  blockGroup: 0xa0,
  block: 0xa1,
  simpleBlock: 0xa3,
}
/** Elements whose children we read; a recorder writes Segment and Cluster with an unknown size. */
const CONTAINERS = new Set([
  EBML.segment,
  EBML.tracks,
  EBML.trackEntry,
  EBML.audio,
  EBML.cluster,
  EBML.blockGroup,
])
/** A WebM voice note larger than this is not decoded (it is read whole into memory). */
const WEBM_WAVEFORM_MAX_BYTES = 16 * 1024 * 1024

/** A variable-length integer at `at`: its value (marker bit kept for ids) and length; null past the end. */
function vint(
  bytes: Buffer,
  at: number,
  keepMarker: boolean,
): { value: number; length: number; unknown: boolean } | null {
  const first = bytes[at]
  if (first === undefined || first === 0) return null
  const length = Math.clz32(first) - 23
  if (length > 8 || at + length > bytes.length) return null
  let value = keepMarker ? first : first & (0xff >> length)
  let allOnes = value === 0xff >> length
  for (let index = 1; index < length; index++) {
    const byte = bytes[at + index]!
    value = value * 256 + byte
    allOnes &&= byte === 0xff
  }
  return { value, length, unknown: !keepMarker && allOnes }
}

/**
 * The Opus frames of a WebM (what Chrome's MediaRecorder writes for a voice note): a walk over the
 * EBML elements that descends into the few containers that matter, so unknown sizes need no special
 * case, and collects the SimpleBlocks/Blocks of the first Opus track.
 */
function webmOpusFrames(bytes: Buffer): { channels: number; frames: Buffer[] } | null {
  const tracks = new Map<number, { number: number; codec: string; channels: number }>()
  let track: { number: number; codec: string; channels: number } | null = null
  const blocks: Array<{ track: number; frame: Buffer }> = []
  let at = 0
  while (at < bytes.length) {
    const id = vint(bytes, at, true)
    if (!id) break
    const size = vint(bytes, at + id.length, false)
    if (!size) break
    const start = at + id.length + size.length
    if (id.value === EBML.trackEntry) {
      if (track) tracks.set(track.number, track)
      track = { number: 0, codec: '', channels: 1 }
    }
    if (CONTAINERS.has(id.value)) {
      at = start
      continue
    }
    if (size.unknown) break
    const end = Math.min(start + size.value, bytes.length)
    const body = bytes.subarray(start, end)
    if (track && id.value === EBML.trackNumber) track.number = body.readUIntBE(0, Math.min(body.length, 6))
    else if (track && id.value === EBML.codecId) track.codec = body.toString('latin1')
    else if (track && id.value === EBML.channels)
      track.channels = body.readUIntBE(0, Math.min(body.length, 6))
    else if (id.value === EBML.simpleBlock || id.value === EBML.block) {
      const number = vint(body, 0, false)
      // Track number, a 16-bit timecode and flags; laced blocks (several frames) are not used for Opus.
      if (number && body.length > number.length + 3 && (body[number.length + 2]! & 0x06) === 0)
        blocks.push({ track: number.value, frame: body.subarray(number.length + 3) })
    }
    at = end
  }
  if (track) tracks.set(track.number, track)
  const opus = [...tracks.values()].find((candidate) => candidate.codec === 'A_OPUS')
  if (!opus) return null
  const frames = blocks.filter((block) => block.track === opus.number).map((block) => block.frame)
  return { channels: Math.min(Math.max(opus.channels, 1), 2), frames }
}

/** Opus in WebM, decoded at 8 kHz (plenty for a waveform), 50 frames (~1 s) per event-loop turn. */
async function webmOpusPeaks(path: string): Promise<PeakCollector | null> {
  const { size } = await fs.promises.stat(path)
  if (size > WEBM_WAVEFORM_MAX_BYTES) return null
  const parsed = webmOpusFrames(await fs.promises.readFile(path))
  if (!parsed || parsed.frames.length === 0) return null
  const decoder = new OpusDecoder({ channels: parsed.channels, sampleRate: 8000 })
  await decoder.ready
  const collector = new PeakCollector(80, 8000) // 10 ms at 8 kHz
  try {
    for (let index = 0; index < parsed.frames.length; index += 50) {
      const decoded = decoder.decodeFrames(parsed.frames.slice(index, index + 50))
      collector.add(decoded.channelData, decoded.samplesDecoded)
      await yieldToEventLoop()
    }
  } finally {
    decoder.free()
  }
  return collector
}

interface WavFormat {
  format: number
  channels: number
  sampleRate: number
  bitsPerSample: number
  dataStart: number
  dataLength: number
}

function wavFormat(header: Buffer): WavFormat | null {
  if (header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WAVE') return null
  let position = 12
  let fmt: Omit<WavFormat, 'dataStart' | 'dataLength'> | null = null
  while (position + 8 <= header.length) {
    const id = header.toString('latin1', position, position + 4)
    const size = header.readUInt32LE(position + 4)
    if (id === 'fmt ' && position + 24 <= header.length) {
      let format = header.readUInt16LE(position + 8)
      // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes.
      if (format === 0xfffe && position + 34 <= header.length) format = header.readUInt16LE(position + 32)
      fmt = {
        format,
        channels: header.readUInt16LE(position + 10),
        sampleRate: header.readUInt32LE(position + 12),
        bitsPerSample: header.readUInt16LE(position + 22),
      }
    } else if (id === 'data') {
      return fmt ? { ...fmt, dataStart: position + 8, dataLength: size } : null
    }
    position += 8 + size + (size % 2)
  }
  return null
}

/** PCM (8/16/24/32-bit integer, 32-bit float) WAV, read slice by slice. */
async function wavPeaks(path: string): Promise<PeakCollector | null> {
  const handle = await fs.promises.open(path, 'r')
  let format: WavFormat | null
  try {
    const header = Buffer.alloc(4096)
    const { bytesRead } = await handle.read(header, 0, header.length, 0)
    format = wavFormat(header.subarray(0, bytesRead))
  } finally {
    await handle.close()
  }
  if (!format || format.channels === 0 || format.sampleRate === 0) return null
  const { bitsPerSample, channels } = format
  const isFloat = format.format === 3 && bitsPerSample === 32
  if (format.format !== 1 && !isFloat) return null
  if (![8, 16, 24, 32].includes(bitsPerSample)) return null
  const bytesPerSample = bitsPerSample / 8
  const frameSize = bytesPerSample * channels
  const sampleAt = (buffer: Buffer, offset: number): number => {
    if (isFloat) return buffer.readFloatLE(offset)
    if (bitsPerSample === 8) return (buffer[offset]! - 128) / 128
    if (bitsPerSample === 16) return buffer.readInt16LE(offset) / 32768
    if (bitsPerSample === 24) return buffer.readIntLE(offset, 3) / 8388608
    return buffer.readInt32LE(offset) / 2147483648
  }
  const collector = new PeakCollector(Math.max(1, Math.round(format.sampleRate / 100)), format.sampleRate)
  const sliceBytes = Math.max(frameSize, READ_SLICE - (READ_SLICE % frameSize))
  const stream = fs.createReadStream(path, {
    start: format.dataStart,
    end: format.dataStart + format.dataLength - 1,
    highWaterMark: sliceBytes,
  })
  let carry: Buffer = Buffer.alloc(0)
  for await (const chunk of stream) {
    const bytes = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer)
    const frames = Math.floor(bytes.length / frameSize)
    const channelData = Array.from({ length: channels }, () => new Float32Array(frames))
    for (let frame = 0; frame < frames; frame++) {
      for (let channel = 0; channel < channels; channel++) {
        channelData[channel]![frame] = sampleAt(bytes, frame * frameSize + channel * bytesPerSample)
      }
    }
    collector.add(channelData, frames)
    carry = bytes.subarray(frames * frameSize)
    await yieldToEventLoop()
  }
  return collector
}

/**
 * A voice note's waveform, or null where Parley has no decoder for the format: Ogg Opus, Opus in WebM
 * and PCM WAV are decoded; MP3 and AAC/MP4 voice notes get null (clients draw a flat bar), a choice
 * recorded in docs/decisions (decoding them would need ffmpeg or more WebAssembly decoders).
 */
export async function voiceWaveform(
  path: string,
  mime: string,
): Promise<{ waveform: string | null; durationMs: number | null }> {
  let collector: PeakCollector | null = null
  try {
    if (mime === 'audio/ogg' || mime === 'audio/opus') collector = await oggOpusPeaks(path)
    else if (mime === 'audio/wav') collector = await wavPeaks(path)
    else if (mime === 'audio/webm') collector = await webmOpusPeaks(path)
  } catch {
    // Audio that parses as a container but will not decode still plays in most clients: no waveform.
    collector = null
  }
  const waveform = collector?.waveform() ?? null
  return { waveform, durationMs: waveform && collector ? collector.durationMs : null }
}
