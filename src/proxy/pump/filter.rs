//! Filters: what changes a body's bytes on their way through the pump (the usage-chunk
//! strip, a stream translator). Plain types without IO; the pump calls them in order.

use crate::proxy::usage_strip::UsageChunkStrip;
use crate::translate::StreamTranslator;

/// Turns decoded upstream body bytes into the client's body bytes.
pub trait BodyFilter {
    /// Appends what the client gets for `data`, the next decoded bytes of the body.
    fn data(&mut self, data: &[u8], out: &mut Vec<u8>);
    /// The upstream body ended cleanly: appends the rest. `false` when what was written
    /// is not a whole body (a translated stream without its end): the client's body is
    /// then left cut, as the upstream's was.
    fn end(&mut self, out: &mut Vec<u8>) -> bool;
}

impl BodyFilter for UsageChunkStrip {
    fn data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.filter(data, out);
    }

    fn end(&mut self, out: &mut Vec<u8>) -> bool {
        self.finish(out);
        true
    }
}

impl BodyFilter for StreamTranslator {
    fn data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.feed(data, out);
    }

    fn end(&mut self, out: &mut Vec<u8>) -> bool {
        self.finish(out)
    }
}
