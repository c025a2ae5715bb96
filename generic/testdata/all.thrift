namespace go alltypes

include "base.thrift"

typedef i64 Millis

union Shape {
  1: base.Point point
  2: double radius
  3: string label
}

struct Inner {
  1: string name
  2: optional list<Inner> children
}

struct Scalars {
  1: bool b
  2: byte by
  3: i16 s
  4: i32 i
  5: i64 l
  6: double d
  7: string str
  8: binary bin
  9: Millis ms
}

struct Containers {
  1: list<i32> ints
  2: set<string> names
  3: map<string, i64> byName
  4: map<i32, string> byInt
  5: map<i64, double> byLong
  6: map<bool, string> byBool
  7: map<base.Color, i32> byColor
  8: map<base.Point, string> byPoint
  9: list<list<string>> nested
  10: map<string, list<Inner>> groups
  11: list<base.Point> points
  12: set<i64> longs
  13: map<double, string> byDouble
}

struct Everything {
  1: required string id
  2: optional Scalars scalars
  3: optional Containers containers
  4: optional Inner inner
  5: optional base.Color color
  6: optional Shape shape
  7: i32 withDefault = 42
  8: optional string opt
  9: string plain
  10: base.Color defColor = base.Color.GREEN
  11: optional list<Shape> shapes
}

exception NotFound {
  1: string what
  2: i32 code
}

exception Invalid {
  1: string reason
}

service Base {
  string ping(1: string msg)
}

service AllTypes extends Base {
  Everything echo(1: Everything req)
  Everything fail(1: Everything req, 2: i32 which) throws (1: NotFound nf, 2: Invalid inv)
  void touch(1: i32 n)
  oneway void notify(1: string msg)
  i64 add(1: i32 a, 2: i64 b)
  base.Point mid(1: base.Point a, 2: base.Point b)
  list<base.Color> colors()
  map<i32, base.Point> points(1: list<base.Point> ps)
}
