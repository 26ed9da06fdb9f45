#!/usr/bin/env node
// Drives tus-js-client (its Node.js API) for Airlock's end-to-end tests.
//
//   node tests/js/tus_upload.mjs '<JSON>'
//
// The one argument is a JSON object:
//   action        "upload" (default) or "terminate"
//   endpoint      creation URL, e.g. http://127.0.0.1:8000/api/v1/tus/
//   token         API token, sent as "Authorization: Bearer TOKEN"
//   file          path of the file to upload
//   source        "path" (default: fs.createReadStream(file), seekable), "buffer" (the file read
//                 into a Buffer) or "stream" (a plain Readable of unknown length: needs
//                 chunkSize, and options.uploadSize or options.uploadLengthDeferred)
//   chunkSize     bytes per PATCH (default: whole file)
//   metadata      Upload-Metadata object, e.g. {"filename": "a.txt", "visibility": "public"}
//   retryDelays   array of ms, or null for no retries (default [0, 200, 500, 1000])
//   uploadUrl     resume this upload URL instead of creating one (action upload), or the URL to
//                 terminate (action terminate)
//   urlStorage    path of a JSON file for tus.FileUrlStorage: the upload URL is stored there,
//                 and with resumePrevious the newest stored upload of this file is resumed
//                 (findPreviousUploads + resumeFromPreviousUpload)
//   resumePrevious  see urlStorage
//   follow303     default true: a 303 with Upload-File-Id to the resuming HEAD means the upload
//                 had already become a File; report success with that id (tus-js-client by
//                 itself would start a new upload)
//   abortAfter    abort once the server has accepted at least this many bytes (end of a chunk)
//   terminate     with abortAfter: abort(true), which also terminates the upload (DELETE)
//   options       more tus.Upload options, passed as they are (parallelUploads,
//                 uploadDataDuringCreation, uploadLengthDeferred, uploadSize, ...)
//
// It prints one JSON object per line on stdout, each with an "event":
//   request  {method, url, headers}              before each request; headers: the tus ones set
//   response {method, url, status, offset, fileId, location}  after each response
//   url      {url}                                once the upload URL is known
//   progress {sent, total}  chunk {accepted, total}
//   resumed  {url}                                a previous upload was found and is resumed
//   success  {url, status, fileId}                fileId: the last response's Upload-File-Id
//                                                 (status 303: the HEAD found it finished)
//   aborted  {url, accepted, terminated}          after abortAfter
//   terminated {url}                              after action terminate
//   error    {message, status, body}             then exit code 1
// Exit code 0 on success, aborted or terminated; 1 on error; 2 on bad arguments.

import * as fs from 'node:fs'
import { Readable } from 'node:stream'
import * as tus from 'tus-js-client'

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

function fail(err) {
  const res = err && err.originalResponse
  emit('error', {
    message: String((err && err.message) || err),
    status: res ? res.getStatus() : null,
    body: res ? res.getBody() : null,
    cause: err && err.causingError ? String(err.causingError.message || err.causingError) : null,
  })
  process.exitCode = 1
}

let args
try {
  args = JSON.parse(process.argv[2] ?? '')
} catch (e) {
  process.stderr.write(`usage: node tus_upload.mjs '<JSON>' (${e.message})\n`)
  process.exit(2)
}

// Request headers reported in "request" events (the ones that show which tus features were used).
const TUS_HEADERS = [
  'Upload-Length', 'Upload-Defer-Length', 'Upload-Offset', 'Upload-Concat', 'Content-Type',
]

const headers = args.token ? { Authorization: `Bearer ${args.token}` } : {}
const retryDelays = args.retryDelays === undefined ? [0, 200, 500, 1000] : args.retryDelays

// Set once a HEAD on the upload URL answered 303 with Upload-File-Id (Airlock: the upload had
// already finished): no request is sent after that.
let finished = null
let current = null // the tus.Upload being run

const hooks = {
  onBeforeRequest(req) {
    if (finished) throw new Error('tus_upload.mjs: the upload had already finished (303)')
    const sent = {}
    for (const name of TUS_HEADERS) {
      const value = req.getHeader(name)
      if (value !== undefined) sent[name] = value
    }
    emit('request', { method: req.getMethod(), url: req.getURL(), headers: sent })
  },
  onAfterResponse(req, res) {
    emit('response', {
      method: req.getMethod(),
      url: req.getURL(),
      status: res.getStatus(),
      offset: res.getHeader('Upload-Offset') ?? null,
      fileId: res.getHeader('Upload-File-Id') ?? null,
      location: res.getHeader('Location') ?? null,
    })
    // tus-js-client takes any non-2xx answer to its resuming HEAD for "upload gone" and starts a
    // new upload. Airlock answers 303 (with Upload-File-Id) for an upload that already became a
    // File, e.g. when the response to the last PATCH was lost: take that as success instead.
    const fileId = res.getHeader('Upload-File-Id')
    if (
      current && !finished && args.follow303 !== false && req.getMethod() === 'HEAD' &&
      res.getStatus() === 303 && fileId
    ) {
      finished = { url: current.url, status: 303, fileId }
      current.abort(false).then(() => emit('success', finished))
    }
  },
}

if (args.action === 'terminate') {
  if (!args.uploadUrl) {
    process.stderr.write('terminate needs uploadUrl\n')
    process.exit(2)
  }
  tus.Upload.terminate(args.uploadUrl, { headers, retryDelays, ...hooks })
    .then(() => emit('terminated', { url: args.uploadUrl }))
    .catch(fail)
} else if (args.action === undefined || args.action === 'upload') {
  upload()
} else {
  process.stderr.write(`unknown action ${JSON.stringify(args.action)}\n`)
  process.exit(2)
}

function openSource() {
  const source = args.source ?? 'path'
  if (source === 'path') return fs.createReadStream(args.file)
  if (source === 'buffer') return fs.readFileSync(args.file)
  if (source === 'stream') return Readable.from(fs.createReadStream(args.file))
  throw new Error(`unknown source ${source}`)
}

function upload() {
  let lastAccepted = 0
  let aborting = false
  const options = {
    endpoint: args.endpoint ?? null,
    uploadUrl: args.uploadUrl ?? null,
    headers,
    metadata: args.metadata ?? {},
    retryDelays,
    ...hooks,
    onUploadUrlAvailable() {
      emit('url', { url: upload.url })
    },
    onProgress(sent, total) {
      emit('progress', { sent, total })
    },
    onChunkComplete(size, accepted, total) {
      lastAccepted = accepted
      emit('chunk', { accepted, total })
      if (args.abortAfter != null && !aborting && accepted >= args.abortAfter && accepted < total) {
        aborting = true
        const terminate = Boolean(args.terminate)
        upload
          .abort(terminate)
          .then(() => {
            emit('aborted', { url: upload.url, accepted: lastAccepted, terminated: terminate })
          })
          .catch(fail)
      }
    },
    onSuccess(payload) {
      const res = payload && payload.lastResponse
      emit('success', {
        url: upload.url,
        status: res ? res.getStatus() : null,
        fileId: res ? (res.getHeader('Upload-File-Id') ?? null) : null,
      })
    },
    onError: fail,
    ...(args.options ?? {}),
  }
  if (args.chunkSize != null) options.chunkSize = args.chunkSize
  if (args.urlStorage) {
    options.urlStorage = new tus.FileUrlStorage(args.urlStorage)
    options.storeFingerprintForResuming = true
  }

  const upload = new tus.Upload(openSource(), options)
  current = upload

  if (args.resumePrevious) {
    upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length > 0) {
          previous.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)))
          upload.resumeFromPreviousUpload(previous[0])
          emit('resumed', { url: previous[0].uploadUrl })
        }
        upload.start()
      })
      .catch(fail)
  } else {
    upload.start()
  }
}
