// base.thrift is included with a path relative to the including file.
namespace go corpus.base

struct Page {
  1: i32 offset
  2: i32 limit = 20
}

exception NotFound {
  1: string what
} (kind = "not_found")
