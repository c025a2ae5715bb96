namespace go base

enum Color {
  RED = 1,
  GREEN = 2,
  BLUE = 7,
}

struct Point {
  1: required i32 x
  2: required i32 y
}
