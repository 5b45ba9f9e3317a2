# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The Avro reader in C: one schema's values read by walking a tree of nodes.

The generated Python readers (:mod:`gateway.envelope.binary._readers`) stay the reference and
the fallback: a :class:`NativeReader` reads what it is sure of, and hands any input it finds
wrong in any way (out of bounds, a bad varint, invalid UTF-8, an out-of-range branch or enum
index, a value past what a C long holds) to the Python reader, which returns its value or
raises its error. So both give one answer for every input; the tests check it on every schema.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_Append
from cpython.long cimport PyLong_FromLongLong
from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.tuple cimport PyTuple_GET_SIZE
from libc.string cimport memcpy

# The kinds of node, as :mod:`gateway.envelope.binary.native` names them.
cdef enum Kind:
    NULL_TYPE = 0
    BOOLEAN = 1
    LONG = 2
    DOUBLE = 3
    STRING = 4
    BYTES = 5
    TIMESTAMP_MILLIS = 6
    DATE = 7
    ENUM = 8
    ARRAY = 9
    MAP = 10
    OPTIONAL = 11
    RECORD = 12

KINDS = {
    "null": NULL_TYPE,
    "boolean": BOOLEAN,
    "long": LONG,
    "double": DOUBLE,
    "string": STRING,
    "bytes": BYTES,
    "timestamp-millis": TIMESTAMP_MILLIS,
    "date": DATE,
    "enum": ENUM,
    "array": ARRAY,
    "map": MAP,
    "optional": OPTIONAL,
    "record": RECORD,
}
"""Node kinds by name."""


class Refused(Exception):
    """The input is not one the C reader is sure of (never seen outside this module)."""


cdef class Node:
    """One type of a schema: its kind, and what it is made of."""

    cdef int kind
    cdef Node item
    """An array's items, a map's values, an optional's value."""
    cdef tuple names
    """A record's field names."""
    cdef tuple fields
    """A record's field types (nodes), or an enum's symbols."""

    def __init__(self, str kind):
        self.kind = KINDS[kind]
        self.names = ()
        self.fields = ()

    def contain(self, Node item):
        """Set an array's, map's or optional's item type."""
        self.item = item

    def set_fields(self, tuple names, tuple fields):
        """Set a record's fields (nodes, in order) or an enum's symbols (``names`` empty)."""
        self.names = names
        self.fields = fields


cdef struct Cursor:
    const unsigned char* data
    Py_ssize_t pos
    Py_ssize_t end


cdef int _long(Cursor* c, long long* out) except -1:
    """The zigzag varint at the cursor, if it fits a C long long."""
    cdef unsigned long long n = 0
    cdef unsigned long long b
    cdef int shift = 0
    while True:
        if c.pos >= c.end:
            raise Refused
        b = c.data[c.pos]
        c.pos += 1
        if shift == 63 and (b & 0x7F) > 1:
            raise Refused  # more than 64 bits: Python's varint reader gives a big int
        n |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:
            raise Refused  # longer than a long's ten bytes
    out[0] = <long long>((n >> 1) ^ (0 - (n & 1)))
    return 0


cdef Py_ssize_t _size(Cursor* c) except -1:
    """A length, and that many bytes left after it."""
    cdef long long size
    _long(c, &size)
    if size < 0 or size > c.end - c.pos:
        raise Refused
    return <Py_ssize_t>size


cdef long long _block_count(Cursor* c) except -1:
    """An array's or map's next block count (0: the end), its byte size skipped."""
    cdef long long count, ignored
    _long(c, &count)
    if count < 0:
        count = -count
        _long(c, &ignored)
    if count > c.end - c.pos + 1:
        raise Refused  # more items than bytes: let the reference reader say what it makes of it
    return count


cdef object _value(Node node, Cursor* c, object epoch, object ms, object from_ordinal):
    cdef long long number
    cdef Py_ssize_t size, i, n, count
    cdef double real
    cdef object result, item
    cdef int kind = node.kind
    if kind == STRING:
        size = _size(c)
        result = PyUnicode_DecodeUTF8(<const char*>c.data + c.pos, size, NULL)
        c.pos += size
        return result
    if kind == RECORD:
        result = {}
        n = PyTuple_GET_SIZE(node.names)
        for i in range(n):
            PyDict_SetItem(
                result,
                node.names[i],
                _value(<Node>node.fields[i], c, epoch, ms, from_ordinal),
            )
        return result
    if kind == LONG:
        _long(c, &number)
        return PyLong_FromLongLong(number)
    if kind == OPTIONAL:
        if c.pos >= c.end:
            raise Refused
        number = c.data[c.pos]
        c.pos += 1
        if number == 2:
            return _value(node.item, c, epoch, ms, from_ordinal)
        if number == 0:
            return None
        raise Refused
    if kind == TIMESTAMP_MILLIS:
        _long(c, &number)
        return epoch + number * ms
    if kind == ARRAY:
        result = []
        while True:
            count = _block_count(c)
            if count == 0:
                return result
            for i in range(count):
                PyList_Append(result, _value(node.item, c, epoch, ms, from_ordinal))
    if kind == MAP:
        result = {}
        while True:
            count = _block_count(c)
            if count == 0:
                return result
            for i in range(count):
                size = _size(c)
                item = PyUnicode_DecodeUTF8(<const char*>c.data + c.pos, size, NULL)
                c.pos += size
                PyDict_SetItem(result, item, _value(node.item, c, epoch, ms, from_ordinal))
    if kind == ENUM:
        _long(c, &number)
        if number < 0 or number >= PyTuple_GET_SIZE(node.fields):
            raise Refused
        return node.fields[number]
    if kind == BOOLEAN:
        if c.pos >= c.end:
            raise Refused
        number = c.data[c.pos]
        c.pos += 1
        return number == 1
    if kind == BYTES:
        size = _size(c)
        result = PyBytes_FromStringAndSize(<const char*>c.data + c.pos, size)
        c.pos += size
        return result
    if kind == DOUBLE:
        if c.end - c.pos < 8:
            raise Refused
        memcpy(&real, c.data + c.pos, 8)  # little-endian hosts only: see native.py
        c.pos += 8
        return real
    if kind == DATE:
        _long(c, &number)
        return from_ordinal(number)
    if kind == NULL_TYPE:
        return None
    raise Refused


cdef class NativeReader:
    """A reader of one schema's values: ``reader(data, pos)`` gives ``(value, position after
    it)``, as the ``fallback`` reader does, which reads whatever this one refuses."""

    cdef Node root
    cdef object fallback
    cdef object epoch
    cdef object ms
    cdef object from_ordinal

    def __init__(self, Node root, fallback, epoch, ms, from_ordinal):
        """``epoch + n * ms`` is a timestamp of ``n`` milliseconds; ``from_ordinal(n)`` a date of
        ``n`` days since the epoch."""
        self.root = root
        self.fallback = fallback
        self.epoch = epoch
        self.ms = ms
        self.from_ordinal = from_ordinal

    def __call__(self, data, Py_ssize_t pos):
        cdef Cursor c
        if type(data) is not bytes or pos < 0:
            return self.fallback(data, pos)
        c.data = <const unsigned char*>PyBytes_AS_STRING(data)
        c.pos = pos
        c.end = PyBytes_GET_SIZE(data)
        try:
            value = _value(self.root, &c, self.epoch, self.ms, self.from_ordinal)
        except Exception:  # Refused, a bad UTF-8 string, a date out of range...
            return self.fallback(data, pos)
        return value, c.pos
