// shared.thrift is found through -I (testdata/idl/inc).
namespace go corpus.shared

const i32 SHARED_LIMIT = 100

enum Level {
  LOW,
  HIGH = 10
}

struct SharedStruct {
  1: required i32 key
  2: string value = "v"
}

typedef SharedStruct Alias

service SharedService {
  SharedStruct getStruct(1: i32 key)
  oneway void ping()
}
