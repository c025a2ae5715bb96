// noservice.thrift has no namespace: the package is named after the file.
struct Point {
  1: double x
  2: double y
}

const Point ORIGIN = {"x": 0, "y": 0.5}
