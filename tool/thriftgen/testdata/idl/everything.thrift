// everything.thrift covers the Thrift language for the golden and
// compile tests: every base type, containers nested in every way, typedefs,
// enums, constants of every literal kind, defaults, requiredness, unions,
// exceptions, uuid (Thrift 0.19+), includes (relative and through -I), and services with
// extends, oneway, throws and annotations.
include "shared.thrift"
include "sub/base.thrift"

namespace go corpus.everything
namespace java org.example.everything

typedef i64 Timestamp
typedef list<string> Names
typedef shared.Alias SharedAlias
typedef binary Blob

/** Color is a doc-commented enum. */
enum Color {
  RED = 1,
  GREEN = 2,
  BLUE, // 3
  ALPHA = 0x10
} (go.annotation = "ignored")

const bool ENABLED = true
const bool DISABLED = 0
const i8 SMALL = -8
const i16 MEDIUM = 0x7fff
const i32 LIMIT = shared.SHARED_LIMIT
const i64 BIG = 9223372036854775807
const double PI = 3.14159
const double WHOLE = 2
const double SCI = 1.5e-3
const string GREETING = "hello \"world\"\n"
const string SINGLE = 'single quoted'
const binary MAGIC = "magic\tbytes"
const Color FAVORITE = Color.GREEN
const Color BY_NUMBER = 3
const shared.Level LEVEL = shared.Level.HIGH
const list<i32> PRIMES = [2, 3, 5, 7]
const set<string> TAGS = ["a", "b"]
const map<string, i32> COUNTS = {"one": 1, "two": 2}
const map<Color, list<string>> NESTED = {Color.RED: ["r"], Color.BLUE: []}
const uuid NIL_UUID = "00000000-0000-0000-0000-000000000000"
const uuid SOME_UUID = "{00112233-4455-6677-8899-aabbccddeeff}"
const Timestamp EPOCH = 0
const Names NOBODY = []
const shared.SharedStruct DEFAULT_SHARED = {"key": 7, "value": "seven"}

struct Everything {
  1: bool a_bool
  2: i8 a_byte
  3: i16 an_i16
  4: i32 an_i32
  5: i64 an_i64
  6: double a_double
  7: string a_string
  8: binary a_binary
  9: Color a_color
  10: Timestamp stamp
  11: Names names
  12: Blob blob
  13: list<list<i32>> matrix
  14: set<Color> colors
  15: map<string, list<map<i32, set<string>>>> deep
  16: map<Color, shared.SharedStruct> by_color
  17: list<shared.SharedStruct> shared_list
  18: shared.SharedStruct shared_one
  19: SharedAlias aliased
  20: base.Page page
  21: map<binary, string> by_bytes
  22: map<shared.SharedStruct, i32> by_struct
  23: list<binary> blobs
  24: optional bool opt_bool
  25: optional i32 opt_i32
  26: optional string opt_string
  27: optional binary opt_binary
  28: optional Color opt_color
  29: optional list<i32> opt_list
  30: optional shared.SharedStruct opt_struct
  31: required string req_string
  32: required shared.SharedStruct req_struct
  33: i32 def_i32 = 42
  34: optional i32 opt_def_i32 = 7
  35: string def_string = GREETING
  36: list<i32> def_list = PRIMES
  37: Color def_color = Color.BLUE
  38: optional map<string, i32> opt_def_map = {"x": 1}
  39: double def_double = 1
  40: shared.Level level = shared.Level.LOW
  41: uuid an_uuid
  42: optional uuid opt_uuid
  43: map<uuid, list<uuid>> uuids
  -1: i32 negative_id
} (annotation = "struct", other = "x")

union Choice {
  1: string text
  2: i64 number
  3: Everything everything
  4: list<Color> colors
}

exception Failure {
  1: i32 code
  2: string message
  3: optional Choice detail
}

struct Empty {}

struct Recursive {
  1: optional Recursive next
  2: list<Recursive> children
}

service Base extends shared.SharedService {
  void reset()
}

/** Store is a service that extends another. */
service Store extends Base {
  // get returns one item.
  Everything get(1: i64 id, 2: base.Page page) throws (1: Failure failure, 2: base.NotFound missing)
  list<Everything> list(1: Names names, 2: set<Color> colors, 3: map<string, Blob> blobs)
  void put(1: required Everything item) (idempotent = "false")
  oneway void touch(1: Timestamp at)
  Choice choose(1: Choice choice)
  Color color(1: Color c, 2: optional i32 type)
  binary raw(1: binary data, 2: string string, 3: i32 ctx, 4: bool result)
  Empty nothing()
} (service.annotation = "yes")
