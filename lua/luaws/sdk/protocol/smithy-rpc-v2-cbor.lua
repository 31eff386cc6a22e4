-- protocol.smithy-rpc-v2-cbor: not implemented yet; build, parse and parse_error raise UnsupportedProtocol.
return require("luaws.sdk.protocol").unsupported("smithy-rpc-v2-cbor")
