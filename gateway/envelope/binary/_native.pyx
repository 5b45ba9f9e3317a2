# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Avro in C: a schema's values read, and message templates filled, by walking a tree of nodes.

The generated Python code (:mod:`gateway.envelope.binary._readers`, ``_writers``) stays the
reference and the fallback. A :class:`NativeReader` reads what it is sure of, and hands any
input it finds wrong in any way (out of bounds, a bad varint, invalid UTF-8, an out-of-range
branch or enum index, a value past what a C long holds) to the Python reader, which returns its
value or raises its error. A :class:`NativeTemplate` writes the holes of a message template
whose values are of exactly the types it knows (str, int, dict, a datetime in UTC, None) and
returns None for anything else, which the Python template then writes or refuses. So both give
one answer for every input; the tests check it.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_CheckExact,
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    date_new,
    datetime_new,
    datetime_tzinfo,
    import_datetime,
)
from cpython.dict cimport PyDict_GetItem, PyDict_Next, PyDict_SetItem
from cpython.list cimport PyList_Append
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLongLong
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

from datetime import timezone

from gateway.errors import EnvelopeError

import_datetime()

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


class Refused(EnvelopeError):
    """The input is not one the C code is sure of (never seen outside this module)."""

    code = "native_refused"


# --- times ------------------------------------------------------------------------------------

cdef object _UTC = timezone.utc
cdef long long _MIN_DAY = -719162  # 0001-01-01
cdef long long _MAX_DAY = 2932896  # 9999-12-31


cdef int _civil_from_days(long long days, int* year, int* month, int* day) except -1:
    """The proleptic Gregorian date ``days`` after 1970-01-01 (0001-01-01 to 9999-12-31)."""
    if days < _MIN_DAY or days > _MAX_DAY:
        raise Refused  # out of datetime's range: Python's reader raises its OverflowError
    days += 719468
    cdef long long era = days // 146097
    cdef long long doe = days - era * 146097
    cdef long long yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef long long doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef long long mp = (5 * doy + 2) // 153
    day[0] = <int>(doy - (153 * mp + 2) // 5 + 1)
    month[0] = <int>(mp + 3 if mp < 10 else mp - 9)
    year[0] = <int>(yoe + era * 400 + (month[0] <= 2))
    return 0


cdef long long _days_from_civil(long long y, long long m, long long d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y -= m <= 2
    cdef long long era = (y if y >= 0 else y - 399) // 400
    cdef long long yoe = y - era * 400
    cdef long long doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef long long doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef object _timestamp(long long millis):
    """``EPOCH + millis * MS``: a UTC datetime."""
    cdef long long days = millis // 86_400_000
    cdef long long rest = millis - days * 86_400_000
    cdef int year, month, day
    _civil_from_days(days, &year, &month, &day)
    return datetime_new(
        year,
        month,
        day,
        <int>(rest // 3_600_000),
        <int>(rest // 60_000 % 60),
        <int>(rest // 1000 % 60),
        <int>(rest % 1000 * 1000),
        _UTC,
    )


cdef object _date(long long days):
    """``date.fromordinal(days + EPOCH_ORDINAL)``."""
    cdef int year, month, day
    _civil_from_days(days, &year, &month, &day)
    return date_new(year, month, day)



# --- reading ----------------------------------------------------------------------------------

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


cdef object _value(Node node, Cursor* c):
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
                _value(<Node>node.fields[i], c),
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
            return _value(node.item, c)
        if number == 0:
            return None
        raise Refused
    if kind == TIMESTAMP_MILLIS:
        _long(c, &number)
        return _timestamp(number)
    if kind == ARRAY:
        result = []
        while True:
            count = _block_count(c)
            if count == 0:
                return result
            for i in range(count):
                PyList_Append(result, _value(node.item, c))
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
                PyDict_SetItem(result, item, _value(node.item, c))
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
        return _date(number)
    if kind == NULL_TYPE:
        return None
    raise Refused


cdef class NativeReader:
    """A reader of one schema's values: ``reader(data, pos)`` gives ``(value, position after
    it)``, as the ``fallback`` reader does, which reads whatever this one refuses."""

    cdef Node root
    cdef object fallback

    def __init__(self, Node root, fallback):
        self.root = root
        self.fallback = fallback

    def __call__(self, data, Py_ssize_t pos):
        cdef Cursor c
        if type(data) is not bytes or pos < 0:
            return self.fallback(data, pos)
        c.data = <const unsigned char*>PyBytes_AS_STRING(data)
        c.pos = pos
        c.end = PyBytes_GET_SIZE(data)
        try:
            value = _value(self.root, &c)
        except Exception:  # Refused, a bad UTF-8 string, a date out of range...
            return self.fallback(data, pos)
        return value, c.pos


# --- templates -------------------------------------------------------------------------------


cdef struct Buffer:
    char* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int _reserve(Buffer* out, Py_ssize_t more) except -1:
    cdef Py_ssize_t capacity = out.capacity
    cdef char* grown
    if out.size + more <= capacity:
        return 0
    while capacity < out.size + more:
        capacity *= 2
    grown = <char*>realloc(out.data, capacity)
    if grown == NULL:
        raise MemoryError
    out.data, out.capacity = grown, capacity
    return 0


cdef int _put(Buffer* out, const char* data, Py_ssize_t size) except -1:
    _reserve(out, size)
    memcpy(out.data + out.size, data, size)
    out.size += size
    return 0


cdef int _put_long(Buffer* out, long long value) except -1:
    cdef unsigned long long n = (<unsigned long long>value << 1) ^ <unsigned long long>(value >> 63)
    _reserve(out, 10)
    while n >= 0x80:
        out.data[out.size] = <char>((n & 0x7F) | 0x80)
        out.size += 1
        n >>= 7
    out.data[out.size] = <char>n
    out.size += 1
    return 0


cdef int _put_string(Buffer* out, object value) except -1:
    cdef Py_ssize_t size
    cdef const char* utf8
    if type(value) is not str:
        raise Refused
    utf8 = PyUnicode_AsUTF8AndSize(value, &size)  # UnicodeEncodeError for a lone surrogate
    _put_long(out, size)
    _put(out, utf8, size)
    return 0


cdef int _put_value(Buffer* out, Node node, object value) except -1:
    cdef int kind = node.kind
    cdef long long millis
    cdef Py_ssize_t position = 0
    cdef PyObject* key
    cdef PyObject* item
    if kind == STRING:
        return _put_string(out, value)
    if kind == LONG:
        if type(value) is not int:
            raise Refused
        return _put_long(out, PyLong_AsLongLong(value))  # OverflowError past a long
    if kind == OPTIONAL:
        if value is None:
            return _put(out, "\x00", 1)
        _put(out, "\x02", 1)
        return _put_value(out, node.item, value)
    if kind == TIMESTAMP_MILLIS:
        if not PyDateTime_CheckExact(value) or datetime_tzinfo(value) is not _UTC:
            raise Refused
        millis = (
            _days_from_civil(
                PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value), PyDateTime_GET_DAY(value)
            ) * 86_400_000
            + PyDateTime_DATE_GET_HOUR(value) * 3_600_000
            + PyDateTime_DATE_GET_MINUTE(value) * 60_000
            + PyDateTime_DATE_GET_SECOND(value) * 1000
            + PyDateTime_DATE_GET_MICROSECOND(value) // 1000
        )
        return _put_long(out, millis)
    if kind == MAP and node.item.kind == STRING:
        if type(value) is not dict:
            raise Refused
        if value:
            _put_long(out, len(value))
            while PyDict_Next(value, &position, &key, &item):
                _put_string(out, <object>key)
                _put_string(out, <object>item)
        return _put(out, "\x00", 1)
    raise Refused


cdef class NativeTemplate:
    """A message template's writer: ``template(holes)`` is the message's bytes, or None when a
    hole's value is not one this writer is sure of (the Python template's to write or refuse).
    """

    cdef tuple segments
    """The message in order: bytes written as they are, and ``(name, node)`` holes."""
    cdef Py_ssize_t constant_size

    def __init__(self, tuple segments):
        self.segments = segments
        self.constant_size = sum(len(s) for s in segments if type(s) is bytes)

    def __call__(self, holes):
        cdef Buffer out
        cdef PyObject* value
        if type(holes) is not dict:
            return None
        out.capacity = self.constant_size + 256
        out.size = 0
        out.data = <char*>malloc(out.capacity)
        if out.data == NULL:
            raise MemoryError
        try:
            for segment in self.segments:
                if type(segment) is bytes:
                    _put(&out, PyBytes_AS_STRING(segment), PyBytes_GET_SIZE(segment))
                    continue
                value = PyDict_GetItem(holes, (<tuple>segment)[0])
                if value == NULL:
                    return None
                _put_value(&out, <Node>(<tuple>segment)[1], <object>value)
            return PyBytes_FromStringAndSize(out.data, out.size)
        except Exception:  # Refused, a lone surrogate, an int past a long...
            return None
        finally:
            free(out.data)
