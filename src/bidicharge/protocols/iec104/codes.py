"""Closed code sets of IEC 60870-5-101/-104: type identifications, causes, qualifiers.

Values follow IEC 60870-5-101 7.2.1 (type identification), 7.2.3 (cause of
transmission), 7.2.6 (information elements); IEC 60870-5-104 clause 8 lists which of
them are valid over TCP.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class TypeId(IntEnum):
    """Type identification (IEC 60870-5-101 7.2.1.1) of the ASDUs this package speaks."""

    M_SP_NA_1 = 1  # single-point information
    M_DP_NA_1 = 3  # double-point information
    M_ME_NA_1 = 9  # measured value, normalised
    M_ME_NB_1 = 11  # measured value, scaled
    M_ME_NC_1 = 13  # measured value, short floating point
    M_IT_NA_1 = 15  # integrated totals
    M_SP_TB_1 = 30  # single-point information with CP56Time2a
    M_DP_TB_1 = 31  # double-point information with CP56Time2a
    M_ME_TD_1 = 34  # measured value, normalised with CP56Time2a
    M_ME_TE_1 = 35  # measured value, scaled with CP56Time2a
    M_ME_TF_1 = 36  # measured value, short floating point with CP56Time2a
    M_IT_TB_1 = 37  # integrated totals with CP56Time2a
    C_SC_NA_1 = 45  # single command
    C_DC_NA_1 = 46  # double command
    C_SE_NA_1 = 48  # set-point command, normalised
    C_SE_NB_1 = 49  # set-point command, scaled
    C_SE_NC_1 = 50  # set-point command, short floating point
    C_SC_TA_1 = 58  # single command with CP56Time2a
    C_DC_TA_1 = 59  # double command with CP56Time2a
    C_SE_TA_1 = 61  # set-point command, normalised with CP56Time2a
    C_SE_TB_1 = 62  # set-point command, scaled with CP56Time2a
    C_SE_TC_1 = 63  # set-point command, short floating point with CP56Time2a
    M_EI_NA_1 = 70  # end of initialisation
    C_IC_NA_1 = 100  # interrogation command
    C_CI_NA_1 = 101  # counter interrogation command
    C_RD_NA_1 = 102  # read command
    C_CS_NA_1 = 103  # clock synchronisation command


MONITOR_TYPES = frozenset(
    {
        TypeId.M_SP_NA_1,
        TypeId.M_DP_NA_1,
        TypeId.M_ME_NA_1,
        TypeId.M_ME_NB_1,
        TypeId.M_ME_NC_1,
        TypeId.M_IT_NA_1,
        TypeId.M_SP_TB_1,
        TypeId.M_DP_TB_1,
        TypeId.M_ME_TD_1,
        TypeId.M_ME_TE_1,
        TypeId.M_ME_TF_1,
        TypeId.M_IT_TB_1,
        TypeId.M_EI_NA_1,
    }
)
COMMAND_TYPES = frozenset(
    {
        TypeId.C_SC_NA_1,
        TypeId.C_DC_NA_1,
        TypeId.C_SE_NA_1,
        TypeId.C_SE_NB_1,
        TypeId.C_SE_NC_1,
        TypeId.C_SC_TA_1,
        TypeId.C_DC_TA_1,
        TypeId.C_SE_TA_1,
        TypeId.C_SE_TB_1,
        TypeId.C_SE_TC_1,
    }
)
SYSTEM_COMMAND_TYPES = frozenset({TypeId.C_IC_NA_1, TypeId.C_CI_NA_1, TypeId.C_CS_NA_1})


class Cause(IntEnum):
    """Cause of transmission, bits 0-5 of the COT octet (IEC 60870-5-101 7.2.3)."""

    PERIODIC = 1
    BACKGROUND_SCAN = 2
    SPONTANEOUS = 3
    INITIALISED = 4
    REQUEST = 5
    ACTIVATION = 6
    ACTIVATION_CON = 7
    DEACTIVATION = 8
    DEACTIVATION_CON = 9
    ACTIVATION_TERMINATION = 10
    RETURN_INFO_REMOTE = 11
    RETURN_INFO_LOCAL = 12
    FILE_TRANSFER = 13
    INTERROGATED_BY_STATION = 20
    INTERROGATED_BY_GROUP_1 = 21
    INTERROGATED_BY_GROUP_2 = 22
    INTERROGATED_BY_GROUP_3 = 23
    INTERROGATED_BY_GROUP_4 = 24
    INTERROGATED_BY_GROUP_5 = 25
    INTERROGATED_BY_GROUP_6 = 26
    INTERROGATED_BY_GROUP_7 = 27
    INTERROGATED_BY_GROUP_8 = 28
    INTERROGATED_BY_GROUP_9 = 29
    INTERROGATED_BY_GROUP_10 = 30
    INTERROGATED_BY_GROUP_11 = 31
    INTERROGATED_BY_GROUP_12 = 32
    INTERROGATED_BY_GROUP_13 = 33
    INTERROGATED_BY_GROUP_14 = 34
    INTERROGATED_BY_GROUP_15 = 35
    INTERROGATED_BY_GROUP_16 = 36
    REQUESTED_BY_GENERAL_COUNTER = 37
    REQUESTED_BY_GROUP_1_COUNTER = 38
    REQUESTED_BY_GROUP_2_COUNTER = 39
    REQUESTED_BY_GROUP_3_COUNTER = 40
    REQUESTED_BY_GROUP_4_COUNTER = 41
    UNKNOWN_TYPE_ID = 44
    UNKNOWN_CAUSE = 45
    UNKNOWN_COMMON_ADDRESS = 46
    UNKNOWN_IOA = 47


class Quality(IntFlag):
    """Quality descriptor QDS (IEC 60870-5-101 7.2.6.3); SIQ shares bits 4-7."""

    GOOD = 0
    OVERFLOW = 0x01  # QDS only; bit 0 of SIQ is the point value itself
    BLOCKED = 0x10
    SUBSTITUTED = 0x20
    NOT_TOPICAL = 0x40
    INVALID = 0x80


#: QOI of a station (general) interrogation; 21..36 interrogate group 1..16 (7.2.6.22).
QOI_STATION = 20
#: Common address that addresses every station of the controlled side (7.2.4).
GLOBAL_COMMON_ADDRESS = 0xFFFF


class InitCause(IntEnum):
    """Cause of initialisation COI, bits 0-6 (IEC 60870-5-101 7.2.6.21)."""

    LOCAL_POWER_ON = 0
    LOCAL_MANUAL_RESET = 1
    REMOTE_RESET = 2
