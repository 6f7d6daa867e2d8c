"""A handler for aiosmtpd's command line (python3 -m aiosmtpd -c smtp_sink.Sink DIR): each
message accepted over SMTP is written as it came, byte for byte, to DIR/NNNN.eml, with its
envelope recipients in DIR/NNNN.rcpt (one per line).  Files appear atomically (rename)."""
import itertools
import os


class Sink:
    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        start = len([f for f in os.listdir(folder) if f.endswith(".eml")])
        self.seq = itertools.count(start + 1)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("smtp_sink.Sink takes one argument: the folder")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        n = next(self.seq)
        base = os.path.join(self.folder, "%04d" % n)
        with open(base + ".rcpt.tmp", "w") as f:
            f.write("\n".join(envelope.rcpt_tos) + "\n")
        os.rename(base + ".rcpt.tmp", base + ".rcpt")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"
