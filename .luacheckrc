-- luacheck configuration: Lua 5.4, 120 columns; `aws` is the preloaded library in scripts and recipes.
std = "lua54"
max_line_length = 120
files["recipes"] = { read_globals = { "aws" } }
files["examples"] = { read_globals = { "aws" } }
files["tests"] = { read_globals = { "aws" } }
files["bench"] = { read_globals = { "aws" } }
-- Generated service models (tools/gen_services.py): data, checked by loading them (model tests).
exclude_files = { "lua/luaws/sdk/services/*" }
files["lua/luaws/sdk/endpoints/partitions.lua"] = { max_line_length = false }
