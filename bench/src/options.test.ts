import { describe, expect, it } from 'vitest'
import { parseOptions, rateAt } from './options.ts'

describe('bench options', () => {
  it('applies a preset and lets the command line override it', () => {
    const options = parseOptions(['--start', '--preset', 'seed004', '--duration', '5'])
    expect(options).toMatchObject({
      start: true,
      users: 1000,
      rate: 50,
      spikeRate: 100,
      duration: 5,
      scenario: 'mixed',
    })
  })

  it('splits --url into the nodes to spread users over', () => {
    const options = parseOptions(['--url', 'http://a:1/, http://b:2', '--admin-token', 'x'.repeat(32)])
    expect(options).toMatchObject({ urls: ['http://a:1', 'http://b:2'], start: false })
  })

  it('reads the media scenario options', () => {
    expect(parseOptions(['--start', '--scenario', 'media', '--users', '10'])).toMatchObject({
      scenario: 'media',
      uploaders: 4,
      imageMegapixels: 3,
      largeUploadMb: 100,
    })
    const options = parseOptions([
      '--start',
      '--scenario',
      'media',
      '--uploaders',
      '2',
      '--image-mp',
      '0.5',
      '--large-upload-mb',
      '0',
    ])
    expect(options).toMatchObject({ uploaders: 2, imageMegapixels: 0.5, largeUploadMb: 0 })
  })

  it.each([
    [['--start', '--scenario', 'media', '--large-upload-mb', '101'], 'at most 100'],
    [['--start', '--scenario', 'media', '--users', '4', '--uploaders', '3'], 'cannot exceed half of --users'],
    [
      ['--start', '--scenario', 'media', '--uploaders', '0', '--large-upload-mb', '0'],
      'needs --uploaders or',
    ],
    [['--start', '--scenario', 'media', '--uploaders', 'two'], '--uploaders must be an integer ≥ 0'],
    [['--start', '--scenario', 'media', '--sweep'], '--sweep does not apply'],
    [['--users', '10'], 'give either --url or --start'],
    [['--start', '--url', 'http://a'], 'give either --url or --start'],
    [['--url', 'http://a'], '--url needs --admin-token'],
    [['--start', '--scenario', 'chaos'], '--scenario must be one of'],
    [['--start', '--rate', 'fast'], '--rate must be a number'],
    [['--start', '--users', '2.5'], '--users must be an integer'],
    [['--start', '--nodes', '2'], '--nodes > 1 needs'],
    [['--start', '--scenario', 'group', '--users', '5', '--group-size', '10'], 'cannot exceed --users'],
    [['--start', '--scenario', 'idle', '--sweep'], '--sweep needs a messaging scenario'],
    [['--start', '--preset', 'nope'], '--preset must be one of'],
  ])('refuses %j with a readable message', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(message)
  })
})

describe('rateAt', () => {
  const seed004 = { rate: 50, spikeRate: 100, spikePeriod: 15, spikeSeconds: 5 }
  it('spikes during the last spikeSeconds of every period', () => {
    expect([0, 9.9, 10, 14.9, 15, 25, 29].map((t) => rateAt(seed004, t))).toEqual([
      50, 50, 100, 100, 50, 100, 100,
    ])
  })
  it('is flat without spikes', () => {
    expect(rateAt({ ...seed004, spikeRate: 0 }, 12)).toBe(50)
  })
})
