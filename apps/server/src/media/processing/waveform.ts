import fs from 'node:fs'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { OggOpusDecoder } from 'ogg-opus-decoder'

/** Samples in a voice note's waveform, each 0–255 (one byte), sent base64. */
export const WAVEFORM_SAMPLES = 64

/** Decoded audio arrives in slices; each slice's loudest sample is kept (10 ms of audio at most). */
class PeakCollector {
  readonly peaks: number[] = []
  private current = 0
  private inBlock = 0
  constructor(private readonly blockSize: number) {}

  add(channels: readonly Float32Array[], length: number): void {
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
  const collector = new PeakCollector(480) // 10 ms at Opus's 48 kHz
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
  const collector = new PeakCollector(Math.max(1, Math.round(format.sampleRate / 100)))
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
 * A voice note's waveform, or null where Parley has no decoder for the format: Ogg Opus and PCM WAV
 * are decoded; MP3, AAC/MP4 and WebM voice notes get null (clients draw a flat bar), a choice recorded
 * in docs/decisions (decoding them would need ffmpeg or several more WebAssembly decoders).
 */
export async function voiceWaveform(path: string, mime: string): Promise<string | null> {
  try {
    if (mime === 'audio/ogg' || mime === 'audio/opus') return (await oggOpusPeaks(path)).waveform()
    if (mime === 'audio/wav') return (await wavPeaks(path))?.waveform() ?? null
  } catch {
    // Audio that parses as a container but will not decode still plays in most clients: no waveform.
    return null
  }
  return null
}
