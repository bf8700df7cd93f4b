"""The lowest level each entity type may be graded at (分类分级 rules of the catalog)."""

from ycpipelines.foundation.levels import Level

# The lowest level a field may be graded at when it carries an entity type (分类分级 rule):
# identifiers of a natural person and financial accounts are sensitive personal information.
MINIMUM_LEVEL = {
    "CN_RESIDENT_ID": Level.L4,
    "CN_PASSPORT": Level.L4,
    "CN_BANK_CARD": Level.L4,
    "PHONE_NUMBER": Level.L4,
    "PERSON": Level.L4,
    "LOCATION": Level.L3,
    "EMAIL_ADDRESS": Level.L3,
    "CN_LICENSE_PLATE": Level.L3,
    "CN_USCC": Level.L1,  # a legal person's code is public (企业信用信息公示)
    "ORGANIZATION": Level.L1,  # a hospital's or company's name is public
}
