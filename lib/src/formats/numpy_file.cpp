// .npy is a short text header (a Python dict literal) and the raw array;
// .npz is a zip archive of .npy members, read here through its central
// directory (zip64 sizes included) and inflated with zlib when compressed.
#include "ltr/formats/numpy_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ltr/core/error.h"

namespace ltr {
namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::vector<unsigned char> ReadBytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileError("cannot open " + Quote(file));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t Little(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int b = bytes - 1; b >= 0; --b) v = (v << 8) | p[b];
  return v;
}

// The value text of `key` in the header dict: "'<f8'", "False", "(3, 4)".
std::string HeaderValue(const std::string& header,
                        const std::string& key,
                        const std::string& where) {
  const size_t at = header.find("'" + key + "'");
  const size_t colon = header.find(':', at);
  if (at == std::string::npos || colon == std::string::npos)
    throw Error(where + ": the .npy header has no " + key);
  size_t begin = header.find_first_not_of(' ', colon + 1);
  size_t end = header[begin] == '(' ? header.find(')', begin) + 1
                                    : header.find_first_of(",}", begin);
  if (header[begin] == '\'') end = header.find('\'', begin + 1) + 1;
  return header.substr(begin, end - begin);
}

std::vector<Index> ParseShape(std::string text, const std::string& where) {
  std::vector<Index> shape;
  std::replace(text.begin(), text.end(), ',', ' ');
  const std::string inner = text.substr(1, text.size() - 2);
  size_t pos = 0;
  while ((pos = inner.find_first_of("0123456789", pos)) != std::string::npos) {
    const size_t end = inner.find_first_not_of("0123456789", pos);
    shape.push_back(std::stoll(inner.substr(pos, end - pos)));
    pos = end;
  }
  if (text.front() != '(' ||
      inner.find_first_not_of(" 0123456789L") != std::string::npos)
    throw Error(where + ": cannot read the shape " + text);
  return shape;
}

// One element of `kind` ('f', 'i', 'u', 'b') and `size` bytes, little-endian.
double Element(const unsigned char* p, char kind, int size) {
  const std::uint64_t bits = Little(p, size);
  if (kind == 'f' && size == 8) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (kind == 'f') {
    const std::uint32_t b32 = static_cast<std::uint32_t>(bits);
    float f;
    std::memcpy(&f, &b32, 4);
    return f;
  }
  if (kind == 'u' || kind == 'b') return static_cast<double>(bits);
  const int shift = 64 - 8 * size;  // sign-extend
  return static_cast<double>(static_cast<std::int64_t>(bits << shift) >> shift);
}

// Brings Fortran-ordered values to C order.
std::vector<double> ToCOrder(const std::vector<double>& f,
                             const std::vector<Index>& shape) {
  std::vector<double> c(f.size());
  std::vector<Index> idx(shape.size(), 0);
  for (size_t n = 0; n < c.size(); ++n) {
    Index offset = 0, stride = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      offset += idx[d] * stride;
      stride *= shape[d];
    }
    c[n] = f[static_cast<size_t>(offset)];
    for (size_t d = shape.size(); d-- > 0;) {  // next C-order index
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return c;
}

NumpyArray ParseNpy(const std::vector<unsigned char>& b,
                    const std::string& where) {
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
    throw Error(where + " is not a .npy array (no \\x93NUMPY magic)");
  const int major = b[6];
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t header_len =
      Little(b.data() + 8, static_cast<int>(length_bytes));
  const size_t data_at = 8 + length_bytes + header_len;
  if (data_at > b.size()) throw Error(where + ": truncated .npy header");
  const std::string header(b.begin() + 8 + length_bytes, b.begin() + data_at);
  NumpyArray a;
  a.dtype = HeaderValue(header, "descr", where);
  a.dtype = a.dtype.substr(1, a.dtype.size() - 2);
  a.fortran_order = HeaderValue(header, "fortran_order", where) == "True";
  a.shape = ParseShape(HeaderValue(header, "shape", where), where);
  const char order = a.dtype.empty() ? '?' : a.dtype[0];
  const char kind = a.dtype.size() > 1 ? a.dtype[1] : '?';
  const int size = a.dtype.size() > 2 ? std::atoi(a.dtype.c_str() + 2) : 0;
  const bool known = (kind == 'f' && (size == 4 || size == 8)) ||
                     ((kind == 'i' || kind == 'u') &&
                      (size == 1 || size == 2 || size == 4 || size == 8)) ||
                     (kind == 'b' && size == 1);
  if (!known || order == '>')
    throw Error(where + ": dtype " + Quote(a.dtype) +
                " is not supported (little-endian float32/64, int, uint or "
                "bool)");
  size_t count = 1;
  double bytes = size;  // in double: a hostile shape must not wrap around
  for (Index d : a.shape) {
    count *= static_cast<size_t>(d);
    bytes *= static_cast<double>(d);
  }
  if (static_cast<double>(b.size() - data_at) < bytes)
    throw Error(where + ": truncated data (" + std::to_string(count) +
                " elements of " + a.dtype + " expected)");
  a.values.resize(count);
  for (size_t n = 0; n < count; ++n)
    a.values[n] = Element(b.data() + data_at + n * size, kind, size);
  if (a.fortran_order) a.values = ToCOrder(a.values, a.shape);
  return a;
}

struct ZipMember {
  std::string name;
  int method = 0;
  std::uint64_t compressed = 0, size = 0, local_offset = 0;
};

// Zip64 sizes and offset in a central directory entry's extra field.
void ReadZip64Extra(const unsigned char* p, size_t length, ZipMember* m) {
  for (size_t at = 0; at + 4 <= length;) {
    const size_t id = Little(p + at, 2), len = Little(p + at + 2, 2);
    if (id == 1) {
      const unsigned char* q = p + at + 4;
      if (m->size == 0xFFFFFFFF) m->size = Little(q, 8), q += 8;
      if (m->compressed == 0xFFFFFFFF) m->compressed = Little(q, 8), q += 8;
      if (m->local_offset == 0xFFFFFFFF) m->local_offset = Little(q, 8);
    }
    at += 4 + len;
  }
}

std::vector<ZipMember> ZipDirectory(const std::vector<unsigned char>& b,
                                    const std::string& file) {
  const std::string bad = Quote(file) + " is not a readable .npz (zip) archive";
  if (b.size() < 22) throw Error(bad);
  size_t end = b.size() - 22;
  while (end > 0 && Little(b.data() + end, 4) != 0x06054b50) --end;
  if (Little(b.data() + end, 4) != 0x06054b50) throw Error(bad);
  const size_t entries = Little(b.data() + end + 10, 2);
  size_t at = Little(b.data() + end + 16, 4);
  std::vector<ZipMember> members;
  for (size_t e = 0; e < entries; ++e) {
    if (at + 46 > b.size() || Little(b.data() + at, 4) != 0x02014b50)
      throw Error(bad);
    const unsigned char* p = b.data() + at;
    ZipMember m;
    m.method = static_cast<int>(Little(p + 10, 2));
    m.compressed = Little(p + 20, 4);
    m.size = Little(p + 24, 4);
    const size_t name = Little(p + 28, 2), extra = Little(p + 30, 2),
                 comment = Little(p + 32, 2);
    m.local_offset = Little(p + 42, 4);
    if (at + 46 + name + extra > b.size()) throw Error(bad);
    m.name.assign(reinterpret_cast<const char*>(p + 46), name);
    ReadZip64Extra(p + 46 + name, extra, &m);
    members.push_back(m);
    at += 46 + name + extra + comment;
  }
  return members;
}

std::vector<unsigned char> Inflate(const unsigned char* data,
                                   const ZipMember& m,
                                   const std::string& where) {
  std::vector<unsigned char> out(m.size);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
    throw Error(where + ": zlib failed to start");
  z.next_in = const_cast<unsigned char*>(data);
  z.avail_in = static_cast<uInt>(m.compressed);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(m.size);
  const int status = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (status != Z_STREAM_END) throw Error(where + ": corrupt deflate data");
  return out;
}

std::vector<unsigned char> MemberBytes(const std::vector<unsigned char>& b,
                                       const ZipMember& m,
                                       const std::string& where) {
  const size_t at = m.local_offset;
  if (at + 30 > b.size() || Little(b.data() + at, 4) != 0x04034b50)
    throw Error(where + ": broken zip entry");
  const size_t data_at =
      at + 30 + Little(b.data() + at + 26, 2) + Little(b.data() + at + 28, 2);
  if (data_at + m.compressed > b.size()) throw Error(where + ": truncated");
  if (m.method == 0) return {b.begin() + data_at, b.begin() + data_at + m.size};
  if (m.method == 8) return Inflate(b.data() + data_at, m, where);
  throw Error(where + ": zip compression method " + std::to_string(m.method) +
              " is not supported (use np.savez or np.savez_compressed)");
}

std::string WithoutNpy(const std::string& name) {
  const bool npy = name.size() > 4 && name.substr(name.size() - 4) == ".npy";
  return npy ? name.substr(0, name.size() - 4) : name;
}

}  // namespace

NumpyArray ReadNpy(const std::string& file) {
  return ParseNpy(ReadBytes(file), Quote(file));
}

std::vector<std::string> NpzMembers(const std::string& file) {
  std::vector<std::string> names;
  for (const ZipMember& m : ZipDirectory(ReadBytes(file), file))
    names.push_back(WithoutNpy(m.name));
  return names;
}

NumpyArray ReadNpz(const std::string& file, const std::string& name) {
  const std::vector<unsigned char> bytes = ReadBytes(file);
  const std::vector<ZipMember> members = ZipDirectory(bytes, file);
  std::string list;
  for (const ZipMember& m : members)
    list += (list.empty() ? "" : ", ") + WithoutNpy(m.name);
  if (name.empty() && members.size() != 1)
    throw Error(Quote(file) + " holds " + std::to_string(members.size()) +
                " arrays (" + list + "); name one with --variable");
  for (const ZipMember& m : members)
    if (name.empty() || WithoutNpy(m.name) == WithoutNpy(name)) {
      const std::string where = Quote(file + ":" + WithoutNpy(m.name));
      return ParseNpy(MemberBytes(bytes, m, where), where);
    }
  throw Error("no array " + Quote(name) + " in " + Quote(file) +
              "; its arrays are: " + list);
}

}  // namespace ltr
