#include "ltr/formats/nwb_file.h"

#include <algorithm>

#include "formats/hdf5_common.h"

namespace ltr {
namespace {

using io::Quote;

std::string Join(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::vector<std::string> ChildNames(const H5::Group& g, H5O_type_t type) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < g.getNumObjs(); ++i) {
    const std::string name = g.getObjnameByIdx(i);
    if (g.childObjType(name) == type) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void CheckIndex(const std::string& file,
                const std::vector<std::int64_t>& index,
                size_t spikes) {
  std::int64_t previous = 0;
  for (size_t n = 0; n < index.size(); ++n) {
    const std::string entry = "/units/spike_times_index entry " +
                              std::to_string(n) + " (" +
                              std::to_string(index[n]) + ") in " + Quote(file);
    if (index[n] < previous)
      throw Error(entry + " decreases (after " + std::to_string(previous) +
                  "): the index is broken");
    if (static_cast<size_t>(index[n]) > spikes)
      throw Error(entry + " is past the end of /units/spike_times (" +
                  std::to_string(spikes) + " spikes)");
    previous = index[n];
  }
}

// Variable- or fixed-length strings of a 1-D dataset.
std::vector<std::string> ReadStrings(const H5::DataSet& ds) {
  const H5::StrType type = ds.getStrType();
  const size_t n = static_cast<size_t>(ds.getSpace().getSimpleExtentNpoints());
  std::vector<std::string> out;
  if (type.isVariableStr()) {
    std::vector<char*> raw(n, nullptr);
    H5::StrType memory(H5::PredType::C_S1, H5T_VARIABLE);
    memory.setCset(type.getCset());
    if (n > 0) ds.read(raw.data(), memory);
    for (char* s : raw) out.emplace_back(s ? s : "");
    H5::DataSpace space = ds.getSpace();
    if (n > 0)
      H5Dvlen_reclaim(memory.getId(), space.getId(), H5P_DEFAULT, raw.data());
    return out;
  }
  const size_t width = type.getSize();
  std::vector<char> raw(n * width);
  if (n > 0) ds.read(raw.data(), type);
  for (size_t i = 0; i < n; ++i) {
    std::string s(raw.data() + i * width, width);
    out.push_back(s.substr(0, s.find('\0')));
  }
  return out;
}

std::string TableGroup(const std::string& name) { return "/intervals/" + name; }

// Every group below `path` holding a dataset `data` (a series).
void FindSeries(const H5::Group& g,
                const std::string& path,
                std::vector<std::string>* found) {
  for (const std::string& c : ChildNames(g, H5O_TYPE_GROUP)) {
    const std::string child = path + "/" + c;
    H5::Group sub = g.openGroup(c);
    if (sub.nameExists("data") && sub.childObjType("data") == H5O_TYPE_DATASET)
      found->push_back(child);
    FindSeries(sub, child, found);
  }
}

std::vector<std::string> SeriesPaths(const std::string& file) {
  return io::Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = io::OpenForReading(file);
    std::vector<std::string> found;
    for (const char* top : {"/acquisition", "/processing"})
      if (io::PathExists(f, top)) FindSeries(f.openGroup(top), top, &found);
    return found;
  });
}

Vector SeriesTimes(const std::string& file, const std::string& path, Index n) {
  if (io::HasDataset(file, path + "/timestamps"))
    return io::ReadVector(file, path + "/timestamps");
  const std::string start = path + "/starting_time";
  if (!io::HasDataset(file, start) || !io::HasAttribute(file, start, "rate"))
    throw Error("series " + Quote(path) + " in " + Quote(file) +
                " has neither timestamps nor starting_time with a rate");
  const double rate = io::ReadDoubleAttribute(file, start, "rate");
  if (!(rate > 0))
    throw Error("series " + Quote(path) + ": the rate must be positive");
  // starting_time is a scalar dataset, which the io readers do not take.
  const double t0 = io::Guard("cannot read " + Quote(start), [&] {
    double v = 0;
    H5::H5File f = io::OpenForReading(file);
    H5::DataSet ds = f.openDataSet(start);
    if (ds.getSpace().getSimpleExtentNpoints() != 1)
      throw Error(Quote(start) + " in " + Quote(file) + " is not one number");
    ds.read(&v, H5::PredType::NATIVE_DOUBLE);
    return v;
  });
  Vector t(n);
  for (Index i = 0; i < n; ++i) t(i) = t0 + static_cast<double>(i) / rate;
  return t;
}

}  // namespace

NwbSeries ReadNwbSeries(const std::string& file, const std::string& name) {
  const std::vector<std::string> paths = SeriesPaths(file);
  NwbSeries series;
  for (const std::string& p : paths)
    if (p == name || p.substr(p.rfind('/') + 1) == name) series.path = p;
  if (series.path.empty())
    throw Error("no series " + Quote(name) +
                " in /acquisition or /processing of " + Quote(file) +
                "; its series are: " + Join(paths));
  const std::string data = series.path + "/data";
  const std::vector<Index> shape = io::DatasetShape(file, data);
  if (shape.size() == 1) {
    series.data = io::ReadVector(file, data);
  } else if (shape.size() == 2) {
    series.data = io::ReadMatrix(file, data);
  } else {
    throw Error(
        Quote(data) + " in " + Quote(file) + " has " +
        std::to_string(shape.size()) +
        " dimensions; a series needs (samples,) or (samples, channels)");
  }
  series.timestamps = SeriesTimes(file, series.path, series.data.rows());
  if (series.timestamps.size() != series.data.rows())
    throw Error("series " + Quote(series.path) + " in " + Quote(file) +
                " has " + std::to_string(series.data.rows()) + " samples but " +
                std::to_string(series.timestamps.size()) + " timestamps");
  return series;
}

NwbUnits ReadNwbUnits(const std::string& file) {
  const bool has = io::Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = io::OpenForReading(file);
    return io::PathExists(f, "/units");
  });
  if (!has)
    throw Error(
        Quote(file) +
        " has no /units (the NWB table of spike times); nothing to bin");
  for (const char* d : {"/units/spike_times", "/units/spike_times_index"})
    if (!io::HasDataset(file, d))
      throw Error(Quote(file) + " has /units but no " + d);
  const Vector times = io::ReadVector(file, "/units/spike_times");
  const std::vector<std::int64_t> index =
      io::ReadIntVector(file, "/units/spike_times_index");
  CheckIndex(file, index, static_cast<size_t>(times.size()));
  NwbUnits units;
  if (io::HasDataset(file, "/units/id")) {
    units.ids = io::ReadIntVector(file, "/units/id");
    if (units.ids.size() != index.size())
      throw Error("/units/id in " + Quote(file) + " has " +
                  std::to_string(units.ids.size()) +
                  " rows but /units/spike_times_index " +
                  std::to_string(index.size()));
  } else {
    for (size_t u = 0; u < index.size(); ++u)
      units.ids.push_back(static_cast<std::int64_t>(u));
  }
  std::int64_t begin = 0;
  for (std::int64_t end : index) {
    units.spike_times.emplace_back(times.data() + begin, times.data() + end);
    begin = end;
  }
  return units;
}

std::vector<std::string> NwbTableNames(const std::string& file) {
  return io::Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = io::OpenForReading(file);
    if (!io::PathExists(f, "/intervals")) return std::vector<std::string>{};
    return ChildNames(f.openGroup("/intervals"), H5O_TYPE_GROUP);
  });
}

NwbTable ReadNwbTable(const std::string& file, const std::string& name) {
  const std::vector<std::string> tables = NwbTableNames(file);
  if (std::find(tables.begin(), tables.end(), name) == tables.end())
    throw Error(
        "no table " + Quote(name) + " in /intervals of " + Quote(file) +
        "; its tables are: " + Join(tables) +
        (tables.empty() ? " (--table none bins the whole recording)" : ""));
  NwbTable table;
  table.name = name;
  const std::string group = TableGroup(name);
  std::vector<std::pair<std::string, Index>> lengths;
  io::Guard("cannot read " + Quote(group) + " in " + Quote(file), [&] {
    H5::H5File f = io::OpenForReading(file);
    H5::Group g = f.openGroup(group);
    for (const std::string& c : ChildNames(g, H5O_TYPE_DATASET)) {
      const std::vector<Index> shape = io::ShapeOf(g.openDataSet(c).getSpace());
      const bool index =
          c.size() > 6 && c.compare(c.size() - 6, 6, "_index") == 0;
      if (!index && c != "id") table.columns.push_back(c);
      if (!index) lengths.emplace_back(c, shape.empty() ? 1 : shape[0]);
    }
  });
  if (!io::HasDataset(file, group + "/id"))
    throw Error("table " + Quote(group) + " in " + Quote(file) + " has no id");
  table.ids = io::ReadIntVector(file, group + "/id");
  for (const auto& [column, rows] : lengths) {
    // A ragged column holds its values' count, not the rows: skip its data.
    if (io::HasDataset(file, group + "/" + column + "_index")) continue;
    if (rows != table.rows())
      throw Error("table " + Quote(group) + " in " + Quote(file) + ": column " +
                  Quote(column) + " has " + std::to_string(rows) +
                  " rows but id has " + std::to_string(table.rows()) +
                  " (columns of different lengths)");
  }
  return table;
}

NwbColumn ReadNwbColumn(const std::string& file,
                        const NwbTable& table,
                        const std::string& column) {
  const std::string group = TableGroup(table.name);
  if (std::find(table.columns.begin(), table.columns.end(), column) ==
      table.columns.end())
    throw Error("table " + Quote(group) + " in " + Quote(file) +
                " has no column " + Quote(column) +
                "; its columns are: " + Join(table.columns));
  const std::string path = group + "/" + column;
  if (io::HasDataset(file, path + "_index"))
    throw Error("column " + Quote(path) + " in " + Quote(file) +
                " is ragged (it has " + column +
                "_index); only one value per trial can be used");
  NwbColumn out;
  out.name = column;
  out.is_string = io::Guard("cannot read " + Quote(path), [&] {
    H5::H5File f = io::OpenForReading(file);
    H5::DataSet ds = f.openDataSet(path);
    if (ds.getTypeClass() != H5T_STRING) return false;
    out.strings = ReadStrings(ds);
    return true;
  });
  if (!out.is_string) {
    const Vector v = io::ReadVector(file, path);
    out.numbers.assign(v.data(), v.data() + v.size());
  }
  return out;
}

bool LooksLikeNwb(const std::string& file) {
  return io::Guard("cannot read " + Quote(file), [&] {
    H5::H5File f = io::OpenForReading(file);
    return f.attrExists("nwb_version") || io::PathExists(f, "/units");
  });
}

}  // namespace ltr
