import fs from 'node:fs'
import { readAvInfo } from './av.ts'
import { safeFileName } from './file-name.ts'
import { processImage } from './image.ts'
import { sniffType } from './sniff.ts'
import { MediaRejected, type ProcessedMedia, type ProcessInput } from './types.ts'
import { voiceWaveform } from './waveform.ts'

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp'])

/**
 * Checks and processes one uploaded file (pure work on local files: no database, HTTP or storage).
 * Resolves with what to store, or rejects with MediaRejected for bytes Parley refuses; any other
 * rejection is a failure of the machine (disk, memory), not of the upload.
 */
export async function processMedia(input: ProcessInput): Promise<ProcessedMedia> {
  const { size } = await fs.promises.stat(input.path)
  if (size === 0) throw new MediaRejected('empty', 'the file is empty')
  const { mime } = await sniffType(input.path, input.kind, input.declaredMime)
  const fileName = safeFileName(input.fileName)
  const base: ProcessedMedia = {
    mime,
    width: null,
    height: null,
    durationMs: null,
    placeholder: null,
    waveform: null,
    fileName,
    variants: [],
  }
  if (input.kind === 'document') return base

  if (IMAGE_TYPES.has(mime)) {
    const image = await processImage({
      path: input.path,
      mime,
      workDir: input.workDir,
      purpose: input.purpose,
      maxPixels: input.maxPixels,
    })
    return {
      ...base,
      width: image.width,
      height: image.height,
      placeholder: image.placeholder,
      variants: image.variants,
    }
  }

  // Audio and video: read, not transcoded (no poster frame: that would need ffmpeg on every server).
  const av = await readAvInfo(input.path, mime)
  if (av.width !== null && av.height !== null && av.width * av.height > input.maxPixels)
    throw new MediaRejected('too_many_pixels', 'the video frame has too many pixels')
  const voice = input.kind === 'voice' ? await voiceWaveform(input.path, mime) : null
  return {
    ...base,
    width: av.width,
    height: av.height,
    // A recorder's live WebM has no duration in its header: the decoded length is the duration.
    durationMs: av.durationMs ?? voice?.durationMs ?? null,
    waveform: voice?.waveform ?? null,
  }
}
