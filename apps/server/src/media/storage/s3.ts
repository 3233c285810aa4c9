import { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Config } from '../../config.ts'
import {
  BlobNotFound,
  type BlobStore,
  type ReceivedPart,
  type SignedGetOptions,
  StorageFull,
  UploadNotFound,
} from './blob-store.ts'

export type S3Settings = NonNullable<Config['s3']>

/** Parts of a server-side put: S3's minimum (5 MiB, but the last), to hold as little as possible. */
const PUT_PART_BYTES = 5 * 1024 * 1024

const statusOf = (error: unknown): number | undefined =>
  error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined
const nameOf = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined)

function translate(error: unknown, key: string, uploadId?: string): unknown {
  const name = nameOf(error)
  if (name === 'NoSuchUpload' && uploadId) return new UploadNotFound(uploadId)
  if (name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404) return new BlobNotFound(key)
  if (name === 'EntityTooLarge' || name === 'QuotaExceeded' || statusOf(error) === 507)
    return new StorageFull(error)
  return error
}

/**
 * Blobs in an S3-compatible bucket (AWS, MinIO, Ceph, Swift's s3api). Clients upload and download
 * through presigned URLs, so media bytes never pass through a Parley node on their way in or out;
 * the server reads an upload once (streamed to a temporary file) to process it.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const
  private readonly client: S3Client
  private readonly bucket: string

  constructor(settings: S3Settings) {
    this.bucket = settings.bucket
    this.client = new S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.accessKeyId && settings.secretAccessKey
        ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
        : {}),
      // Checksums on every request by default in newer SDKs: presigned URLs would then demand a
      // checksum header a browser does not send, and some S3-compatible stores refuse them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
  }

  /** Creates the bucket when it does not exist yet (first start of a deployment). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
      return
    } catch (error) {
      if (statusOf(error) !== 404 && nameOf(error) !== 'NotFound') throw error
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }))
    } catch (error) {
      // Another node created it between our check and our create.
      const name = nameOf(error)
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error
    }
  }

  async put(key: string, body: Readable, options: { contentType: string }): Promise<{ size: number }> {
    // S3 needs each request's length up front; a stream of unknown length goes in 8 MiB parts, so at
    // most one part is held in memory.
    let uploadId: string | null = null
    const parts: Array<{ PartNumber: number; ETag: string }> = []
    let buffered: Buffer[] = []
    let bufferedBytes = 0
    let total = 0
    const flushPart = async () => {
      if (uploadId === null) {
        const created = await this.client.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            ContentType: options.contentType,
          }),
        )
        uploadId = created.UploadId ?? null
        if (!uploadId) throw new Error('S3 gave no upload id')
      }
      const partNumber = parts.length + 1
      const answer = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: Buffer.concat(buffered),
        }),
      )
      parts.push({ PartNumber: partNumber, ETag: answer.ETag ?? '' })
      buffered = []
      bufferedBytes = 0
    }
    try {
      for await (const chunk of body) {
        const bytes = chunk as Buffer
        buffered.push(bytes)
        bufferedBytes += bytes.length
        total += bytes.length
        if (bufferedBytes >= PUT_PART_BYTES) await flushPart()
      }
      if (uploadId === null) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: Buffer.concat(buffered),
            ContentType: options.contentType,
          }),
        )
      } else {
        if (bufferedBytes > 0) await flushPart()
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        )
      }
    } catch (error) {
      if (uploadId !== null) await this.abortMultipart(key, uploadId).catch(() => {})
      throw translate(error, key)
    }
    return { size: total }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      )
      if (!(answer.Body instanceof Readable)) throw new Error('S3 body is not a Node stream')
      return answer.Body
    } catch (error) {
      throw translate(error, key)
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const answer = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
      return { size: answer.ContentLength ?? 0 }
    } catch (error) {
      if (translate(error, key) instanceof BlobNotFound) return null
      throw error
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One request per key: DeleteObjects needs a Content-MD5 some S3-compatible stores check differently.
    await Promise.all(
      keys.map((key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))),
    )
  }

  signedGetUrl(key: string, options: SignedGetOptions): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentType: options.contentType,
        ResponseContentDisposition: options.disposition,
        ResponseCacheControl: `private, max-age=${options.ttl}, immutable`,
      }),
      { expiresIn: options.ttl },
    )
  }

  signedPutUrl(key: string, options: { ttl: number; size: number }): Promise<string> {
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: options.size }),
      { expiresIn: options.ttl, signableHeaders: new Set(['content-length']) },
    )
  }

  async createMultipart(key: string): Promise<string> {
    const answer = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }))
    if (!answer.UploadId) throw new Error('S3 gave no upload id')
    return answer.UploadId
  }

  signedPartUrl(
    key: string,
    uploadId: string,
    partNumber: number,
    options: { ttl: number },
  ): Promise<string> {
    return getSignedUrl(
      this.client,
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }),
      { expiresIn: options.ttl },
    )
  }

  async listParts(key: string, uploadId: string): Promise<ReceivedPart[]> {
    const parts: ReceivedPart[] = []
    let marker: string | undefined
    try {
      for (;;) {
        const answer = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        )
        for (const part of answer.Parts ?? []) {
          if (part.PartNumber === undefined) continue
          parts.push({ partNumber: part.PartNumber, size: part.Size ?? 0, etag: part.ETag ?? '' })
        }
        if (!answer.IsTruncated || !answer.NextPartNumberMarker) break
        marker = answer.NextPartNumberMarker
      }
    } catch (error) {
      throw translate(error, key, uploadId)
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber)
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly ReceivedPart[]): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
        }),
      )
    } catch (error) {
      throw translate(error, key, uploadId)
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      )
    } catch (error) {
      if (!(translate(error, key, uploadId) instanceof UploadNotFound)) throw error
    }
  }

  async close(): Promise<void> {
    this.client.destroy()
  }
}
