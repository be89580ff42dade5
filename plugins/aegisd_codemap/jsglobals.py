"""Names JavaScript and TypeScript code uses without declaring them: the language's globals,
Node's and the browser's common ones, and TypeScript's utility types. A name here that a file
does not declare binds as a builtin (``b:``), never as something of the workspace."""

from __future__ import annotations

JS_GLOBALS = frozenset(
    """
    AbortController AbortSignal AggregateError Array ArrayBuffer Atomics BigInt BigInt64Array
    BigUint64Array Blob Boolean Buffer DataView Date Error EvalError Event EventTarget
    FinalizationRegistry Float32Array Float64Array FormData Function Headers Infinity Int16Array
    Int32Array Int8Array Intl Iterator JSON Map Math NaN Number Object Promise Proxy RangeError
    ReferenceError Reflect RegExp Request Response Set SharedArrayBuffer String Symbol
    SyntaxError TextDecoder TextEncoder TypeError URIError URL URLSearchParams Uint16Array
    Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakRef WeakSet WebSocket Worker
    __dirname __filename alert arguments atob btoa clearImmediate clearInterval clearTimeout
    console crypto decodeURI decodeURIComponent document encodeURI encodeURIComponent escape
    eval exports fetch globalThis global isFinite isNaN localStorage location module navigator
    parseFloat parseInt performance process queueMicrotask require requestAnimationFrame
    sessionStorage setImmediate setInterval setTimeout structuredClone undefined unescape
    window
    ArrayLike AsyncGenerator AsyncIterable AsyncIterableIterator AsyncIterator Awaited
    ConstructorParameters Exclude Extract Generator InstanceType Iterable IterableIterator
    Lowercase NonNullable Omit OmitThisParameter Parameters Partial Pick PromiseLike
    PropertyDescriptor PropertyKey Readonly ReadonlyArray ReadonlyMap ReadonlySet Record
    Required ReturnType TemplateStringsArray ThisParameterType ThisType Uncapitalize Capitalize
    Uppercase
    """.split()  # noqa: SIM905 (a word list reads better than 150 quoted strings)
)
