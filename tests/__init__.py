import logging

# Every refused upload and left-out slice is logged at INFO for the server's operators (mri.io);
# the tests refuse hundreds on purpose. Tests that check those lines capture them with assertLogs.
logging.getLogger("mri.io").setLevel(logging.WARNING)
