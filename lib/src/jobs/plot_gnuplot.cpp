#include "jobs/plot_gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ltr/core/error.h"

extern char** environ;

namespace ltr::plot {

namespace fs = std::filesystem;

const std::vector<std::string> kColors = {"#0072B2",
                                          "#D55E00",
                                          "#009E73",
                                          "#CC79A7",
                                          "#E69F00",
                                          "#56B4E9",
                                          "#000000",
                                          "#F0E442"};
const std::vector<std::string> kLightColors = {"#DCEAF6",
                                               "#FBE2D0",
                                               "#D6F0E5",
                                               "#F4E1EC",
                                               "#FCEDCC",
                                               "#E0F1FB",
                                               "#E6E6E6",
                                               "#FBF7D2"};

std::string SequentialColor(double t) {
  // Viridis anchors; stops short of the yellow end, which vanishes on white.
  static const std::array<std::array<double, 3>, 5> kAnchors = {{
      {0x44, 0x01, 0x54},
      {0x3b, 0x52, 0x8b},
      {0x21, 0x91, 0x8c},
      {0x5e, 0xc9, 0x62},
      {0xfd, 0xe7, 0x25},
  }};
  t = 0.85 * std::clamp(t, 0.0, 1.0) * (kAnchors.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), kAnchors.size() - 2);
  const double f = t - static_cast<double>(i);
  char buf[8];
  int c[3];
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<int>(
        std::lround((1 - f) * kAnchors[i][k] + f * kAnchors[i + 1][k]));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
  return buf;
}

std::string Quote(const std::string& text) {
  std::string q = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (std::strchr("_^@&~{}", c) != nullptr) {
      q += "\\\\";  // enhanced text: a literal character
      q += c;
    } else if (c == '\n') {
      q += "\\n";
    } else {
      q += c;
    }
  }
  return q + "\"";
}

std::string Num(double x) {
  if (!std::isfinite(x)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

GnuplotFigure::GnuplotFigure(std::string stem, int width, int height)
    : stem_(std::move(stem)), width_(width), height_(height) {}

std::string GnuplotFigure::AddLines(const std::string& lines) {
  const std::string name = "$d" + std::to_string(blocks_++);
  data_ += name + " << EOD\n" + lines;
  if (!lines.empty() && lines.back() != '\n') data_ += '\n';
  data_ += "EOD\n";
  return name;
}

std::string GnuplotFigure::AddColumns(const std::vector<Vector>& columns) {
  std::string lines;
  const Index rows = columns.empty() ? 0 : columns[0].size();
  for (const Vector& c : columns)
    if (c.size() != rows) throw Error("data columns of unequal length");
  for (Index i = 0; i < rows; ++i) {
    for (size_t j = 0; j < columns.size(); ++j)
      lines += (j ? " " : "") + Num(columns[j](i));
    lines += '\n';
  }
  return AddLines(lines);
}

std::string GnuplotFigure::AddMatrix(const Matrix& m) {
  std::string lines;
  for (Index i = 0; i < m.rows(); ++i) {
    for (Index j = 0; j < m.cols(); ++j) lines += (j ? " " : "") + Num(m(i, j));
    lines += '\n';
  }
  return AddLines(lines);
}

void GnuplotFigure::Add(const std::string& commands) {
  body_ += commands;
  body_ += '\n';
}

std::string GnuplotFigure::Script(
    const std::vector<std::pair<std::string, std::string>>& outputs) const {
  std::ostringstream s;
  s << "set encoding utf8\n" << data_;
  for (const auto& [kind, path] : outputs) {
    const std::string size =
        " size " + std::to_string(width_) + "," + std::to_string(height_);
    const std::string common =
        " enhanced font \"DejaVu Sans,10\" linewidth 1.2 background rgb "
        "\"white\"\n";
    if (kind == "png")
      s << "set terminal pngcairo" << size << common;
    else
      s << "set terminal svg" << size << " dynamic" << common;
    // Single-quoted gnuplot strings take everything literally but ''.
    std::string quoted;
    for (char c : path)
      quoted += (c == '\'') ? std::string("''") : std::string(1, c);
    s << "set output '" << quoted << "'\n";
    // The body runs once per format from the same state.
    s << "reset\n"
         "set datafile missing \"NaN\"\n"
         "set border 3 lw 1 lc rgb \"#404040\"\n"
         "set tics nomirror out scale 0.5 textcolor rgb \"#303030\"\n"
         "set grid back lc rgb \"#E8E8E8\" lw 1 dt 1\n"
         "set key top right nobox samplen 1.5 spacing 1.1 font \",9\"\n"
         "set style fill solid 0.85 noborder\n"
         "set title font \",11\"\n";
    for (size_t i = 0; i < kColors.size(); ++i)
      s << "set linetype " << i + 1 << " lc rgb \"" << kColors[i]
        << "\" lw 1.5 pt 7 ps 0.6 dt 1\n";
    s << "set linetype cycle " << kColors.size() << "\n";
    s << body_ << "unset multiplot\nunset output\n";
  }
  return s.str();
}

namespace {

// Runs `argv` with stdin and stdout on /dev/null and stderr into
// `stderr_path`; returns the wait status, or throws when it cannot start.
int Run(const std::vector<std::string>& args, const std::string& stderr_path) {
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(
      &actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw Error("cannot run gnuplot '" + args[0] + "' (" + std::strerror(rc) +
                "): install the Debian package gnuplot-nox (apt-get install "
                "gnuplot-nox) or name the executable with --gnuplot");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw Error("waiting for gnuplot: " + std::string(std::strerror(errno)));
  }
  return status;
}

// The first line of stderr that reports an error (gnuplot also prints
// warnings there), else the first non-empty line.
std::string ErrorLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, first;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t^") == std::string::npos) continue;
    if (first.empty()) first = line;
    if (line.find("rror") != std::string::npos) return line;
  }
  return first;
}

// Removes the files it holds when it goes out of scope.
struct Temporaries {
  std::vector<std::string> paths;
  ~Temporaries() {
    std::error_code ec;
    for (const std::string& p : paths) fs::remove(p, ec);
  }
};

std::string TempName(const std::string& dir, const std::string& name) {
  static int counter = 0;
  return (fs::path(dir) / ("." + name + ".tmp" + std::to_string(getpid()) +
                           "-" + std::to_string(counter++)))
      .string();
}

}  // namespace

void CheckGnuplot(const std::string& gnuplot) {
  const fs::path err = fs::temp_directory_path() /
                       ("ltr-plot-check-" + std::to_string(getpid()) + ".err");
  Temporaries t{{err.string()}};
  const int status = Run({gnuplot, "-e", "exit"}, err.string());
  // posix_spawnp reports a missing file; a shell-style 127 covers the rest.
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = ErrorLine(err.string());
    if (why.empty())
      why = WIFEXITED(status)
                ? "exit status " + std::to_string(WEXITSTATUS(status))
                : "killed by a signal";
    throw Error("gnuplot '" + gnuplot + "' does not run (" + why +
                "): install the Debian package gnuplot-nox");
  }
}

Figure Render(const PlotOptions& options,
              const GnuplotFigure& figure,
              const std::string& title,
              const std::string& caption) {
  const std::string dir = options.output_dir;
  Figure f;
  f.name = options.prefix + figure.stem();
  f.title = title;
  f.caption = caption;
  Temporaries t;
  std::vector<std::pair<std::string, std::string>> outputs;  // kind, temp
  for (const char* kind : {"png", "svg"}) {
    if ((kind == std::string("png") && !options.png) ||
        (kind == std::string("svg") && !options.svg))
      continue;
    outputs.emplace_back(kind, TempName(dir, f.name + "." + kind));
    t.paths.push_back(outputs.back().second);
  }
  const std::string script = TempName(dir, f.name + ".gp");
  const std::string err = TempName(dir, f.name + ".err");
  t.paths.push_back(script);
  t.paths.push_back(err);
  {
    std::ofstream out(script);
    out << figure.Script(outputs);
    if (!out.flush()) throw Error("cannot write '" + script + "'");
  }
  const int status = Run({options.gnuplot, script}, err);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("gnuplot failed on figure '" + f.name + "': " + ErrorLine(err));
  for (const auto& [kind, temp] : outputs) {
    std::error_code ec;
    if (!fs::exists(temp) || fs::file_size(temp, ec) == 0)
      throw Error("gnuplot wrote no " + kind + " for figure '" + f.name + "'");
    const std::string final_path =
        (fs::path(dir) / (f.name + "." + kind)).string();
    fs::rename(temp, final_path, ec);
    if (ec)
      throw Error("cannot rename '" + temp + "' to '" + final_path +
                  "': " + ec.message());
    (kind == "png" ? f.png : f.svg) = final_path;
  }
  return f;
}

}  // namespace ltr::plot
