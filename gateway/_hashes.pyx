# cython: language_level=3
"""The hashes taken per record, in C: SHA-256 of a fixed prefix and then a message, on OpenSSL's
libcrypto, from a state taken once after the prefix and copied per message
(:mod:`gateway.envelope.digests`); a batch's Merkle tree and every leaf's proof
(:mod:`gateway.envelope.merkle`); and Kafka's murmur2 of a record key, which picks its
partition (:mod:`gateway.transport.partitioning`)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef extern from "openssl/sha.h":
    ctypedef struct SHA256_CTX:
        pass
    int SHA256_Init(SHA256_CTX *state) nogil
    int SHA256_Update(SHA256_CTX *state, const void *data, size_t size) nogil
    int SHA256_Final(unsigned char *digest, SHA256_CTX *state) nogil


cdef class PrefixedSha256:
    """``digest(message)`` is ``hashlib.sha256(prefix + message).digest()``."""

    cdef SHA256_CTX _start

    def __cinit__(self, bytes prefix not None):
        SHA256_Init(&self._start)
        SHA256_Update(&self._start, PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix))

    def digest(self, message):
        cdef SHA256_CTX state = self._start
        cdef unsigned char out[32]
        cdef bytes data = message if type(message) is bytes else bytes(message)
        SHA256_Update(&state, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        SHA256_Final(out, &state)
        return PyBytes_FromStringAndSize(<char *>out, 32)


cdef enum:
    _HASH = 32  # bytes of a SHA-256 hash
    _MAX_LEVELS = 64  # of a tree of at most 2**63 leaves


def merkle_proofs(list leaves not None):
    """``gateway.envelope.merkle.proofs`` of ``leaves`` (32-byte leaf hashes, at least one): the
    root, and each leaf's sibling hashes from the bottom level up, concatenated."""
    cdef Py_ssize_t n = len(leaves), total = 0, width, i, j, level, levels = 0, size
    cdef Py_ssize_t widths[_MAX_LEVELS]
    cdef Py_ssize_t starts[_MAX_LEVELS]
    cdef unsigned char node_tag = 1
    cdef unsigned char *nodes
    cdef unsigned char *here
    cdef unsigned char *above
    cdef char *path
    cdef SHA256_CTX state
    cdef bytes leaf, out
    if n == 0:
        raise ValueError("a tree needs at least one leaf")
    width = n
    while True:
        widths[levels], starts[levels] = width, total
        total += width
        levels += 1
        if width == 1:
            break
        width = (width + 1) // 2
    nodes = <unsigned char *>malloc(total * _HASH)
    if nodes == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            leaf = leaves[i]
            if PyBytes_GET_SIZE(leaf) != _HASH:
                raise ValueError(f"leaf {i} is {PyBytes_GET_SIZE(leaf)} bytes, not a SHA-256 hash")
            memcpy(nodes + i * _HASH, PyBytes_AS_STRING(leaf), _HASH)
        for level in range(levels - 1):
            here = nodes + starts[level] * _HASH
            above = nodes + starts[level + 1] * _HASH
            width = widths[level]
            for j in range(width // 2):
                SHA256_Init(&state)
                SHA256_Update(&state, &node_tag, 1)
                SHA256_Update(&state, here + 2 * j * _HASH, 2 * _HASH)
                SHA256_Final(above + j * _HASH, &state)
            if width % 2:  # the odd one out moves up unchanged
                memcpy(above + (width // 2) * _HASH, here + (width - 1) * _HASH, _HASH)
        paths = []
        for i in range(n):
            size = 0
            for level in range(levels - 1):
                if ((i >> level) ^ 1) < widths[level]:
                    size += 1
            out = PyBytes_FromStringAndSize(NULL, size * _HASH)
            path = PyBytes_AS_STRING(out)
            for level in range(levels - 1):
                j = (i >> level) ^ 1
                if j < widths[level]:
                    memcpy(path, nodes + (starts[level] + j) * _HASH, _HASH)
                    path += _HASH
            paths.append(out)
        root = PyBytes_FromStringAndSize(<char *>(nodes + starts[levels - 1] * _HASH), _HASH)
    finally:
        free(nodes)
    return root, paths


def murmur2(key):
    """The Java client's ``Utils.murmur2`` of ``key`` (bytes), as an unsigned 32-bit int: what
    ``aiokafka.partitioner.murmur2`` gives."""
    cdef bytes data = key if type(key) is bytes else bytes(key)
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef Py_ssize_t length = PyBytes_GET_SIZE(data), i
    cdef uint32_t m = 0x5BD1E995, k
    cdef uint32_t h = 0x9747B28C ^ <uint32_t>length
    for i in range(0, length - length % 4, 4):
        k = p[i] | (<uint32_t>p[i + 1] << 8) | (<uint32_t>p[i + 2] << 16) | (<uint32_t>p[i + 3] << 24)
        k *= m
        k ^= k >> 24
        k *= m
        h *= m
        h ^= k
    i = length & ~3
    if length % 4 >= 3:
        h ^= <uint32_t>p[i + 2] << 16
    if length % 4 >= 2:
        h ^= <uint32_t>p[i + 1] << 8
    if length % 4 >= 1:
        h ^= p[i]
        h *= m
    h ^= h >> 13
    h *= m
    h ^= h >> 15
    return h
